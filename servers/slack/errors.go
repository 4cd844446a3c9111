package slack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
)

// UntrustedNotice is the line results carry when they hold text written
// by people on Slack.
var UntrustedNotice = untrusted.Notice("Slack (messages, names, topics, profiles, files)")

// explain turns a failed Slack call into a tool error the model can act
// on: what happened and what to do about it. Every token the server
// holds is removed from the result (response bodies lose them in the
// upstream client already; this covers text from anywhere else, such as
// an HTTP status line or a transport error).
func explain(c *Conn, spec core.ToolSpec, err error) error {
	return c.up.ScrubError(explainError(c, spec, err))
}

func explainError(c *Conn, spec core.ToolSpec, err error) error {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return explainSlack(c, spec, se)
	}
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return fmt.Errorf("rate limited by Slack (ratelimited) on workspace %q, still after retries: try again in %s, and make fewer calls at once", c.Name, rl.RetryAfter.Round(time.Second))
	}
	if tw, ok := errors.AsType[*TierWaitError](err); ok {
		return fmt.Errorf("only so many %s calls a minute are allowed per workspace (%q, Slack's tier limit): the next slot is %s away, past this call's deadline; try again after that", tw.Method, c.Name, tw.Wait.Round(time.Second))
	}
	switch {
	case errors.Is(err, upstream.ErrCircuitOpen):
		return fmt.Errorf("calls to Slack (workspace %q) failed repeatedly, so calls are paused for a moment: %v", c.Name, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return err
	}
	if se, ok := errors.AsType[slack.StatusCodeError](err); ok {
		return fmt.Errorf("unexpected HTTP %d (%s) from Slack on workspace %q; try again later", se.Code, se.Status, c.Name)
	}
	if _, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("calling Slack on workspace %q failed: %s", c.Name, oneLine(err.Error()))
	}
	return err // the handler's own message about its arguments
}

func explainSlack(c *Conn, spec core.ToolSpec, se slack.SlackErrorResponse) error {
	code := se.Err
	switch code {
	case "not_in_channel":
		return fmt.Errorf("slack: not_in_channel: the bot of workspace %q is not a member of that channel; someone must invite it (/invite @bot), or use a public channel it has joined", c.Name)
	case "channel_not_found":
		return errors.New("slack: channel_not_found: no such channel, or the token cannot see it (private channels need the bot invited); list_channels shows the ones it can")
	case "user_not_found", "users_not_found":
		return fmt.Errorf("slack: %s: no such user; list_users with query finds users", code)
	case "thread_not_found", "message_not_found":
		return fmt.Errorf("slack: %s: check channel and ts (the ts of the thread's first message)", code)
	case "file_not_found":
		return errors.New("slack: file_not_found: no such file, or the token cannot see it")
	case "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive":
		return fmt.Errorf("the token of workspace %q was rejected by Slack (%s); the server operator must renew it", c.Name, code)
	case "missing_scope":
		need := se.Needed
		if need == "" && len(spec.Permissions) > 0 {
			need = strings.Join(spec.Permissions, ", ")
		}
		return fmt.Errorf("slack: missing_scope: the token of workspace %q lacks the scope this needs (%s); the operator must add it to the Slack app and reinstall", c.Name, need)
	case "not_allowed_token_type":
		return fmt.Errorf("slack: not_allowed_token_type: this method needs another kind of token than workspace %q has (%s)", c.Name, strings.Join(c.tokens(), "+"))
	case "ratelimited":
		return fmt.Errorf("rate limited by Slack (ratelimited) on workspace %q; try again in a minute", c.Name)
	case "is_archived":
		return errors.New("slack: is_archived: the channel is archived and takes no messages")
	case "already_reacted":
		return errors.New("slack: already_reacted: that reaction is already there")
	case "no_reaction":
		return errors.New("slack: no_reaction: there is no such reaction of ours to remove")
	case "invalid_name":
		return errors.New("slack: invalid_name: not an emoji name (use the name without colons, e.g. thumbsup)")
	case "time_in_past", "time_too_far":
		return fmt.Errorf("slack: %s: post_at must be in the future, within 120 days", code)
	case "msg_too_long":
		return errors.New("slack: msg_too_long: shorten the message (Slack takes up to 40,000 characters)")
	}
	return fmt.Errorf("refused by Slack: %s", cleanLine(code))
}
