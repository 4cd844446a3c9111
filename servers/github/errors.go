package github

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	gh "github.com/google/go-github/v66/github"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
)

// explain turns a failed GitHub call into a tool error the model can act
// on: what happened, and what to do about it. GitHub's own messages are
// cleaned like any other text from GitHub, and every credential the
// connection knows is removed from the result (response bodies lose them
// in the upstream client already; this covers text from anywhere else,
// such as a transport error quoting a URL).
func explain(c *Conn, spec core.ToolSpec, err error) error {
	return c.up.ScrubError(explainError(c, spec, err))
}

func explainError(c *Conn, spec core.ToolSpec, err error) error {
	var (
		rle      *gh.RateLimitError
		abuse    *gh.AbuseRateLimitError
		accepted *gh.AcceptedError
		er       *gh.ErrorResponse
	)
	switch {
	case errors.As(err, &rle):
		reset := rle.Rate.Reset.Time
		return fmt.Errorf("GitHub rate limit exhausted on connection %q (%d of %d requests left); it resets at %s (in %s): try again after that",
			c.Name, rle.Rate.Remaining, rle.Rate.Limit, reset.UTC().Format(time.RFC3339), time.Until(reset).Round(time.Second))
	case errors.As(err, &abuse):
		wait := "a minute"
		if abuse.RetryAfter != nil {
			wait = abuse.RetryAfter.Round(time.Second).String()
		}
		return fmt.Errorf("GitHub secondary rate limit hit on connection %q: retry after %s, and make fewer calls at once", c.Name, wait)
	case errors.As(err, &accepted):
		return errors.New("GitHub is still preparing this answer (202 Accepted); call again in a few seconds")
	case errors.As(err, &er):
		return explainResponse(c, spec, er)
	case errors.Is(err, upstream.ErrCircuitOpen):
		return fmt.Errorf("GitHub (connection %q) failed repeatedly, so calls are paused for a moment: %v", c.Name, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return err
	}
	if _, ok := errors.AsType[*url.Error](err); ok {
		// The request never got an answer: connection refused, a failed
		// token refresh, a timeout after retries.
		return fmt.Errorf("calling GitHub on connection %q failed: %s", c.Name, oneLine(err.Error()))
	}
	return err // the handler's own message about its arguments
}

func explainResponse(c *Conn, spec core.ToolSpec, er *gh.ErrorResponse) error {
	msg := message(er.Message)
	status := 0
	what := ""
	if er.Response != nil {
		status = er.Response.StatusCode
		if r := er.Response.Request; r != nil && r.URL != nil {
			path := strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(c.apiURL.Path, "/"))
			what = r.Method + " " + path
		}
	}
	switch status {
	case 401:
		return fmt.Errorf("GitHub rejected the credential of connection %q (401: %s); the server operator must renew it", c.Name, msg)
	case 403:
		need := ""
		if len(spec.Permissions) > 0 {
			need = "; this tool needs " + strings.Join(spec.Permissions, ", ")
		}
		return fmt.Errorf("GitHub refused %s (403: %s): the credential of connection %q lacks access%s", what, msg, c.Name, need)
	case 404:
		return fmt.Errorf("not found on GitHub: %s (404). Check owner, repo, numbers and refs; a private repository the credential cannot see also answers 404", what)
	case 409:
		return fmt.Errorf("conflict on GitHub (409: %s); read the current state and try again", msg)
	case 410:
		return fmt.Errorf("gone on GitHub (410: %s)", msg)
	case 422:
		var details []string
		for _, e := range er.Errors {
			d := strings.TrimSpace(strings.Join(nonEmpty(e.Resource, e.Field, e.Code), " "))
			if e.Message != "" {
				d = strings.TrimSpace(d + ": " + message(e.Message))
			}
			if d != "" {
				details = append(details, d)
			}
		}
		if len(details) > 0 {
			msg += " (" + strings.Join(details, "; ") + ")"
		}
		return fmt.Errorf("GitHub rejected the request as invalid (422: %s); fix the arguments and call again", msg)
	}
	return fmt.Errorf("GitHub answered %s with %d: %s", what, status, msg)
}

// message cleans and bounds a message taken from a GitHub answer.
func message(s string) string {
	s, cut := truncate(untrusted.Line(s), 300)
	if cut {
		s += "..."
	}
	if s == "" {
		return "no message"
	}
	return s
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// UntrustedNotice is the line results carry when they hold text written by
// third parties on GitHub.
var UntrustedNotice = untrusted.Notice("GitHub (titles, bodies, comments, files, logs)")
