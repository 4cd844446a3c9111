package slack

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

// PostIn is a message to post.
type PostIn struct {
	Channel  string `json:"channel" jsonschema:"channel id (C...), #name, or @person for your DM with them"`
	Text     string `json:"text" jsonschema:"the message in Markdown (converted to Slack's mrkdwn), at most 12000 characters"`
	ThreadTS string `json:"thread_ts,omitempty" jsonschema:"reply in the thread of this message ts"`
	WorkspaceArg
}

// PostOut is where a message went.
type PostOut struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
	Unfurl  bool   `json:"unfurl"`
}

const maxPostChars = 12000

func (c *Conn) postOptions(text, threadTS string) ([]slack.MsgOption, bool, error) {
	if strings.TrimSpace(text) == "" || utf8Len(text) > maxPostChars {
		return nil, false, fmt.Errorf("text must be 1-%d characters", maxPostChars)
	}
	if threadTS != "" && !tsRE.MatchString(threadTS) {
		return nil, false, fmt.Errorf("thread_ts %q is not a Slack ts such as 1712345678.000100", threadTS)
	}
	// Links unfurl only when every one is on an allowed domain: a preview
	// fetched from an arbitrary address can leak the message's context.
	unfurl := c.unfurlAllowed(text)
	opts := []slack.MsgOption{slack.MsgOptionText(mrkdwn(text), false)}
	if unfurl {
		opts = append(opts, slack.MsgOptionEnableLinkUnfurl())
	} else {
		opts = append(opts, slack.MsgOptionDisableLinkUnfurl(), slack.MsgOptionDisableMediaUnfurl())
	}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	return opts, unfurl, nil
}

func utf8Len(s string) int { return len([]rune(s)) }

func newPostMessage(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "post_message",
		Title: "Post a message or thread reply",
		Description: "Posts a message to a channel, or with thread_ts replies in a thread. Write Markdown: it is converted to Slack's mrkdwn. " +
			"Only where the operator allowed writing; links unfurl only on allowed domains.",
		Toolset: toolsetWrite, Effect: core.Additive, Idempotent: core.No, OpenWorld: core.Yes,
		Classification: core.Confidential, Permissions: []string{"chat:write"},
	}, func(ctx context.Context, c *Conn, in PostIn) (PostOut, error) {
		opts, unfurl, err := c.postOptions(in.Text, in.ThreadTS)
		if err != nil {
			return PostOut{}, err
		}
		ch, err := c.writeChannel(ctx, in.Channel)
		if err != nil {
			return PostOut{}, err
		}
		chID, ts, err := c.api().PostMessageContext(ctx, ch.ID, opts...)
		if err != nil {
			return PostOut{}, err
		}
		return PostOut{Channel: display(Channel{ID: chID, Name: ch.Name}), TS: ts, Unfurl: unfurl}, nil
	})
}

// ScheduleIn is a message to post later.
type ScheduleIn struct {
	Channel  string `json:"channel" jsonschema:"channel id (C...), #name, or @person for your DM with them"`
	Text     string `json:"text" jsonschema:"the message in Markdown (converted to Slack's mrkdwn)"`
	PostAt   string `json:"post_at" jsonschema:"when to post, RFC 3339 (2025-05-01T09:00:00Z), within 120 days"`
	ThreadTS string `json:"thread_ts,omitempty" jsonschema:"reply in the thread of this message ts"`
	WorkspaceArg
}

// ScheduleOut is a scheduled message.
type ScheduleOut struct {
	Channel            string `json:"channel"`
	ScheduledMessageID string `json:"scheduled_message_id"`
	PostAt             string `json:"post_at"`
}

func newScheduleMessage(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "schedule_message",
		Title:       "Schedule a message",
		Description: "Schedules a message (or thread reply) to be posted at post_at. Markdown is converted to mrkdwn. Only where the operator allowed writing.",
		Toolset:     toolsetWrite, Effect: core.Additive, Idempotent: core.No, OpenWorld: core.Yes,
		Classification: core.Confidential, Permissions: []string{"chat:write"},
	}, func(ctx context.Context, c *Conn, in ScheduleIn) (ScheduleOut, error) {
		at, err := time.Parse(time.RFC3339, in.PostAt)
		if err != nil {
			return ScheduleOut{}, fmt.Errorf("post_at %q is not an RFC 3339 time such as 2025-05-01T09:00:00Z", in.PostAt)
		}
		now := s.clock.Now()
		if !at.After(now) || at.Sub(now) > 120*24*time.Hour {
			return ScheduleOut{}, fmt.Errorf("post_at must be in the future and within 120 days")
		}
		opts, _, err := c.postOptions(in.Text, in.ThreadTS)
		if err != nil {
			return ScheduleOut{}, err
		}
		ch, err := c.writeChannel(ctx, in.Channel)
		if err != nil {
			return ScheduleOut{}, err
		}
		chID, id, err := c.api().ScheduleMessageContext(ctx, ch.ID, strconv.FormatInt(at.Unix(), 10), opts...)
		if err != nil {
			return ScheduleOut{}, err
		}
		return ScheduleOut{Channel: display(Channel{ID: chID, Name: ch.Name}), ScheduledMessageID: id, PostAt: at.UTC().Format(time.RFC3339)}, nil
	})
}

// ReactionIn names a reaction on a message.
type ReactionIn struct {
	Channel string `json:"channel" jsonschema:"channel id (C...), #name, or @person for your DM with them"`
	TS      string `json:"ts" jsonschema:"the message's ts"`
	Emoji   string `json:"emoji" jsonschema:"emoji name without colons, e.g. thumbsup or white_check_mark"`
	WorkspaceArg
}

// ReactionOut confirms a reaction change.
type ReactionOut struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
	Emoji   string `json:"emoji"`
	Done    string `json:"done"`
}

var emojiRE = regexp.MustCompile(`^[a-z0-9_+'-]{1,100}(::skin-tone-[2-6])?$`)

func reactionTool(s *Service, name, title, desc string, effect core.Effect, remove bool) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name: name, Title: title, Description: desc,
		Toolset: toolsetWrite, Effect: effect, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"reactions:write"},
	}, func(ctx context.Context, c *Conn, in ReactionIn) (ReactionOut, error) {
		emoji := strings.Trim(strings.TrimSpace(in.Emoji), ":")
		if !emojiRE.MatchString(emoji) {
			return ReactionOut{}, fmt.Errorf("emoji %q is not an emoji name such as thumbsup", in.Emoji)
		}
		if !tsRE.MatchString(in.TS) {
			return ReactionOut{}, fmt.Errorf("ts %q is not a Slack ts such as 1712345678.000100", in.TS)
		}
		ch, err := c.writeChannel(ctx, in.Channel)
		if err != nil {
			return ReactionOut{}, err
		}
		ref := slack.NewRefToMessage(ch.ID, in.TS)
		done := "added"
		if remove {
			err, done = c.api().RemoveReactionContext(ctx, emoji, ref), "removed"
		} else {
			err = c.api().AddReactionContext(ctx, emoji, ref)
		}
		if err != nil {
			return ReactionOut{}, err
		}
		return ReactionOut{Channel: display(ch), TS: in.TS, Emoji: emoji, Done: done}, nil
	})
}

func newAddReaction(s *Service) *core.ToolDef {
	return reactionTool(s, "add_reaction", "Add a reaction", "Adds an emoji reaction to a message. Only where the operator allowed writing.", core.Additive, false)
}

func newRemoveReaction(s *Service) *core.ToolDef {
	return reactionTool(s, "remove_reaction", "Remove a reaction", "Removes an emoji reaction this token added to a message. Only where the operator allowed writing.", core.Destructive, true)
}
