package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
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
	if ute, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		// A proxy, an old GitHub Enterprise Server or a changed endpoint
		// answered with JSON of another shape. Retrying will not help.
		return fmt.Errorf("GitHub (connection %q) answered with JSON this tool does not expect (%s where %s was expected); "+
			"the endpoint may differ on this GitHub version or a proxy answered instead: check the connection's base_url, or use another tool",
			c.Name, jsonKind(ute.Value), jsonKindOf(ute.Type))
	}
	if _, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Errorf("GitHub (connection %q) answered with something that is not JSON; a proxy may have answered instead: check the connection's base_url and try again later", c.Name)
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
			// The path holds the caller's arguments: quote it short.
			if len(path) > 200 {
				path = path[:200] + "..."
			}
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
	if status == 414 || status == 431 {
		return fmt.Errorf("GitHub refused %s as too long (%d); shorten the arguments (query, path, ref) and call again", what, status)
	}
	return fmt.Errorf("GitHub answered %s with %d: %s", what, status, msg)
}

// jsonKind names the JSON type of the value a decoder reports in an
// UnmarshalTypeError: encoding/json gives its kind ("array"), segmentio's
// decoder the start of the value itself ("[1,").
func jsonKind(v string) string {
	v = strings.TrimSpace(strings.Trim(strings.TrimSpace(v), `"`))
	for _, k := range []string{"array", "object", "string", "number", "bool"} {
		if strings.HasPrefix(v, k) {
			return "a JSON " + k
		}
	}
	if v == "" {
		return "a JSON value"
	}
	switch c := v[0]; {
	case c == '[':
		return "a JSON array"
	case c == '{':
		return "a JSON object"
	case c == '"' || c == '\\':
		return "a JSON string"
	case c == 't' || c == 'f':
		return "a JSON bool"
	case c == 'n':
		return "a JSON null"
	}
	return "a JSON number"
}

// jsonKindOf names the JSON shape a Go type decodes from.
func jsonKindOf(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	}
	return "a number"
}

// message cleans and bounds a message taken from a GitHub answer.
func message(s string) string {
	if s = untrusted.ShortLine(s, 300); s == "" {
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
