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

// Message is a message, compact: names resolved, text cleaned and marked.
type Message struct {
	TS        string   `json:"ts"`
	Time      string   `json:"time"`
	User      string   `json:"user,omitempty"`
	Text      string   `json:"text,omitempty"`
	ThreadTS  string   `json:"thread_ts,omitempty"`
	Replies   int      `json:"replies,omitempty"`
	Reactions []string `json:"reactions,omitempty"`
	Files     []string `json:"files,omitempty"`
	Subtype   string   `json:"subtype,omitempty"`
	Truncated bool     `json:"truncated,omitempty"`
	Channel   string   `json:"channel,omitempty"`
	Permalink string   `json:"permalink,omitempty"`
}

// mentionRE finds user mentions without a label, <@U0123>.
var mentionRE = regexp.MustCompile(`<@([UW][A-Z0-9]{2,20})>`)

// maxUserLookups bounds the users one result fetches individually when
// the directory lacks them; the rest are shown by id.
const maxUserLookups = 20

// messages renders Slack messages, resolving authors through the
// directory (fetching at most maxUserLookups cold ones).
func (s *Service) messages(ctx context.Context, c *Conn, msgs []slack.Message) []Message {
	out := make([]Message, 0, len(msgs))
	lookups := 0
	for i := range msgs {
		m := &msgs[i]
		ids := mentionRE.FindAllStringSubmatch(m.Text, 20)
		if m.User != "" {
			ids = append([][]string{{"", m.User}}, ids...)
		}
		for _, id := range ids {
			if _, ok := c.dir.knownUser(id[1]); !ok && lookups < maxUserLookups {
				lookups++
				_, _ = c.dir.user(ctx, id[1])
			}
		}
		out = append(out, s.message(c, m.Msg))
	}
	return out
}

func (s *Service) message(c *Conn, m slack.Msg) Message {
	text, cut := c.messageText(m.Text, int(s.cfg.Limits.MaxTextBytes))
	msg := Message{TS: m.Timestamp, Time: tsTime(m.Timestamp), Text: text, Truncated: cut, Subtype: m.SubType, Replies: m.ReplyCount}
	if m.ThreadTimestamp != "" && m.ThreadTimestamp != m.Timestamp {
		msg.ThreadTS = m.ThreadTimestamp
	}
	switch {
	case m.User != "":
		msg.User = m.User
		if u, ok := c.dir.knownUser(m.User); ok {
			msg.User = "@" + u.Name
		}
	case m.Username != "":
		msg.User = cleanLine(m.Username)
	case m.BotID != "":
		msg.User = "bot " + m.BotID
	}
	for _, r := range m.Reactions {
		msg.Reactions = append(msg.Reactions, fmt.Sprintf("%s %d", r.Name, r.Count))
	}
	for _, f := range m.Files {
		msg.Files = append(msg.Files, f.ID+" "+cleanLine(f.Name))
	}
	return msg
}

// tsTime formats a Slack ts ("1712345678.000100") as RFC 3339.
func tsTime(ts string) string {
	secs, _, _ := strings.Cut(ts, ".")
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return ""
	}
	return time.Unix(n, 0).UTC().Format(time.RFC3339)
}

// HistoryIn selects a channel's messages.
type HistoryIn struct {
	Channel string `json:"channel" jsonschema:"channel id (C...), #name, or @person for your DM with them"`
	Limit   string `json:"limit,omitempty" jsonschema:"a count of messages (1-200, default 50), or a time window such as 1d, 7d, 12h or 30m"`
	Oldest  string `json:"oldest,omitempty" jsonschema:"only messages after this ts (e.g. last_read from get_unreads)"`
	Cursor  string `json:"cursor,omitempty" jsonschema:"next_cursor of the previous page"`
	WorkspaceArg
}

// MessagesOut is a page of messages.
type MessagesOut struct {
	Notice     string    `json:"notice"`
	Channel    string    `json:"channel"`
	Messages   []Message `json:"messages"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

var windowRE = regexp.MustCompile(`^([1-9][0-9]{0,3})([mhdw])$`)

// parseLimit reads a count or a window. A window gives the oldest time
// and the page size 100.
func parseLimit(v string, now time.Time) (count int, oldest string, err error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return defaultPageSize, "", nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 1 || n > maxPageSize {
			return 0, "", fmt.Errorf("limit %d is outside 1-%d", n, maxPageSize)
		}
		return n, "", nil
	}
	m := windowRE.FindStringSubmatch(v)
	if m == nil {
		return 0, "", fmt.Errorf("limit %q is neither a count (1-%d) nor a window such as 1d, 7d, 12h, 30m or 2w", v, maxPageSize)
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
	d := time.Duration(n) * unit
	if d > 366*24*time.Hour {
		return 0, "", fmt.Errorf("window %q is longer than a year", v)
	}
	return 100, strconv.FormatInt(now.Add(-d).Unix(), 10) + ".000000", nil
}

// windowCursor carries the window's start across pages, so a window read
// page by page does not slide.
func windowCursor(slackCursor, oldest string) string {
	if slackCursor == "" {
		return ""
	}
	if oldest == "" {
		return slackCursor
	}
	return slackCursor + "~" + oldest
}

func splitCursor(cur string) (slackCursor, oldest string, err error) {
	if err := checkCursor(cur); err != nil {
		return "", "", err
	}
	slackCursor, oldest, _ = strings.Cut(cur, "~")
	if oldest != "" && !tsRE.MatchString(oldest) {
		return "", "", fmt.Errorf("cursor is not one this server issued; pass next_cursor unchanged")
	}
	return slackCursor, oldest, nil
}

func newGetChannelHistory(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "get_channel_history",
		Title: "Read channel history",
		Description: "Reads a channel's messages, newest first: the last N (limit 50) or those of a time window (limit 1d, 7d, 12h). " +
			"Authors are names, text is cleaned and marked untrusted; thread starters show replies (read them with get_thread_replies).",
		Toolset: toolsetMessages, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Confidential, Permissions: []string{"channels:history", "groups:history", "im:history", "mpim:history"},
	}, func(ctx context.Context, c *Conn, in HistoryIn) (MessagesOut, error) {
		count, oldest, err := parseLimit(in.Limit, s.clock.Now())
		if err != nil {
			return MessagesOut{}, err
		}
		if in.Oldest != "" {
			if !tsRE.MatchString(in.Oldest) {
				return MessagesOut{}, fmt.Errorf("oldest %q is not a Slack ts such as 1712345678.000100", in.Oldest)
			}
			oldest = max(oldest, in.Oldest)
		}
		cursor := ""
		if in.Cursor != "" {
			var o string
			if cursor, o, err = splitCursor(in.Cursor); err != nil {
				return MessagesOut{}, err
			}
			if o != "" {
				oldest = o
			}
		}
		ch, err := c.readChannel(ctx, in.Channel)
		if err != nil {
			return MessagesOut{}, err
		}
		resp, err := c.api().GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch.ID, Cursor: cursor, Limit: count, Oldest: oldest})
		if err != nil {
			return MessagesOut{}, err
		}
		out := MessagesOut{Notice: UntrustedNotice, Channel: s.channelLabel(ctx, c, ch), Messages: s.messages(ctx, c, resp.Messages)}
		if resp.HasMore {
			out.NextCursor = windowCursor(resp.ResponseMetaData.NextCursor, oldest)
		}
		return out, nil
	})
}

// channelLabel names a channel for results, "#general (C0123)", looking
// it up (cache, then Slack) when needed.
func (s *Service) channelLabel(ctx context.Context, c *Conn, ch Channel) string {
	if ch.Name == "" && ch.Kind == "" {
		if full, err := c.dir.channel(ctx, ch.ID); err == nil {
			ch = full
		}
	}
	return display(ch)
}

// RepliesIn selects a thread.
type RepliesIn struct {
	Channel string `json:"channel" jsonschema:"channel id (C...), #name, or @person for your DM with them"`
	TS      string `json:"ts" jsonschema:"ts of the thread's first message"`
	Page
	WorkspaceArg
}

func newGetThreadReplies(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "get_thread_replies",
		Title:       "Read a thread",
		Description: "Reads a thread: its first message and the replies, oldest first, with cursor paging.",
		Toolset:     toolsetMessages, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Confidential, Permissions: []string{"channels:history", "groups:history", "im:history", "mpim:history"},
	}, func(ctx context.Context, c *Conn, in RepliesIn) (MessagesOut, error) {
		size, err := in.size()
		if err != nil {
			return MessagesOut{}, err
		}
		if !tsRE.MatchString(in.TS) {
			return MessagesOut{}, fmt.Errorf("ts %q is not a Slack ts such as 1712345678.000100", in.TS)
		}
		if err := checkCursor(in.Cursor); err != nil {
			return MessagesOut{}, err
		}
		ch, err := c.readChannel(ctx, in.Channel)
		if err != nil {
			return MessagesOut{}, err
		}
		msgs, hasMore, next, err := c.api().GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: ch.ID, Timestamp: in.TS, Cursor: in.Cursor, Limit: size})
		if err != nil {
			return MessagesOut{}, err
		}
		out := MessagesOut{Notice: UntrustedNotice, Channel: s.channelLabel(ctx, c, ch), Messages: s.messages(ctx, c, msgs)}
		if hasMore {
			out.NextCursor = next
		}
		return out, nil
	})
}

// PermalinkIn names a message.
type PermalinkIn struct {
	Channel string `json:"channel" jsonschema:"channel id (C...), #name, or @person for your DM with them"`
	TS      string `json:"ts" jsonschema:"the message's ts"`
	WorkspaceArg
}

// PermalinkOut is a message's link.
type PermalinkOut struct {
	Permalink string `json:"permalink"`
}

func newGetPermalink(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "get_permalink",
		Title:       "Link to a message",
		Description: "Returns the permanent link of a message, to cite it or share it.",
		Toolset:     toolsetMessages, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"channels:read"},
	}, func(ctx context.Context, c *Conn, in PermalinkIn) (PermalinkOut, error) {
		if !tsRE.MatchString(in.TS) {
			return PermalinkOut{}, fmt.Errorf("ts %q is not a Slack ts such as 1712345678.000100", in.TS)
		}
		ch, err := c.readChannel(ctx, in.Channel)
		if err != nil {
			return PermalinkOut{}, err
		}
		link, err := c.api().GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: ch.ID, Ts: in.TS})
		if err != nil {
			return PermalinkOut{}, err
		}
		return PermalinkOut{Permalink: link}, nil
	})
}

// SearchIn is a message search.
type SearchIn struct {
	Query string `json:"query" jsonschema:"Slack search syntax: words, \"phrases\", in:#channel, from:@user, before:2024-05-01, after:, on:, has:link, has:reaction, is:thread"`
	Sort  string `json:"sort,omitempty" jsonschema:"score (default) or timestamp (newest first)"`
	Page
	WorkspaceArg
}

// Enums declares the values core puts in the schema and checks.
func (SearchIn) Enums() map[string][]string {
	return map[string][]string{"sort": {"score", "timestamp"}}
}

// SearchOut is a page of matches.
type SearchOut struct {
	Notice     string    `json:"notice"`
	Total      int       `json:"total"`
	Messages   []Message `json:"messages"`
	Withheld   int       `json:"withheld,omitempty"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

func newSearchMessages(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "search_messages",
		Title: "Search messages",
		Description: "Searches messages with Slack's query syntax (in:#channel, from:@user, before:, after:, has:). " +
			"Needs a user token (xoxp-): a workspace with only a bot token cannot search.",
		Toolset: toolsetMessages, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Confidential, Permissions: []string{"search:read"},
	}, func(ctx context.Context, c *Conn, in SearchIn) (SearchOut, error) {
		api, err := c.userAPI("search_messages")
		if err != nil {
			return SearchOut{}, err
		}
		q := strings.TrimSpace(in.Query)
		if q == "" || len(q) > 1000 {
			return SearchOut{}, fmt.Errorf("query must be 1-1000 characters")
		}
		size, err := in.size()
		if err != nil {
			return SearchOut{}, err
		}
		size = min(size, 100)
		page := 1
		if in.Cursor != "" {
			if page, err = strconv.Atoi(in.Cursor); err != nil || page < 1 || page > 100 {
				return SearchOut{}, fmt.Errorf("cursor %q is not one this server issued; pass next_cursor unchanged", in.Cursor)
			}
		}
		sort := in.Sort
		if sort == "" {
			sort = "score"
		}
		res, err := api.SearchMessagesContext(ctx, q, slack.SearchParameters{Sort: sort, SortDirection: "desc", Count: size, Page: page, TeamID: c.teamID})
		if err != nil {
			return SearchOut{}, err
		}
		out := SearchOut{Notice: UntrustedNotice, Total: res.Total, Messages: []Message{}}
		for _, m := range res.Matches {
			if !c.read.allows(m.Channel.ID, m.Channel.Name) {
				out.Withheld++ // outside the channels this workspace may read
				continue
			}
			msg := s.message(c, slack.Msg{Timestamp: m.Timestamp, User: m.User, Username: m.Username, Text: m.Text})
			msg.Channel = display(Channel{ID: m.Channel.ID, Name: m.Channel.Name})
			msg.Permalink = m.Permalink
			out.Messages = append(out.Messages, msg)
		}
		if res.Paging.Page < res.Paging.Pages {
			out.NextCursor = strconv.Itoa(page + 1)
		}
		return out, nil
	})
}

// UnreadsIn selects channels with unread messages.
type UnreadsIn struct {
	Page
	WorkspaceArg
}

// Unread is a channel with unread messages.
type Unread struct {
	Channel  string `json:"channel"`
	Unread   int    `json:"unread"`
	LastRead string `json:"last_read,omitempty"`
}

// UnreadsOut lists channels with unread messages.
type UnreadsOut struct {
	Notice     string   `json:"notice"`
	Channels   []Unread `json:"channels"`
	Checked    int      `json:"checked"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

func newGetUnreads(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "get_unreads",
		Title: "Channels with unread messages",
		Description: "Lists the user's channels and DMs with unread messages and where reading stopped (last_read: pass it as oldest to get_channel_history). " +
			"Checks up to limit conversations per page (at most 50). Needs a user token (xoxp-).",
		Toolset: toolsetMessages, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Confidential, Permissions: []string{"channels:read", "groups:read", "im:read", "mpim:read"},
	}, func(ctx context.Context, c *Conn, in UnreadsIn) (UnreadsOut, error) {
		api, err := c.userAPI("get_unreads")
		if err != nil {
			return UnreadsOut{}, err
		}
		size, err := in.size()
		if err != nil {
			return UnreadsOut{}, err
		}
		size = min(size, 50) // one conversations.info per conversation
		if err := checkCursor(in.Cursor); err != nil {
			return UnreadsOut{}, err
		}
		chs, next, err := api.GetConversationsForUserContext(ctx, &slack.GetConversationsForUserParameters{
			Cursor: in.Cursor, Limit: size, Types: allConversationTypes, ExcludeArchived: true, TeamID: c.teamID,
		})
		if err != nil {
			return UnreadsOut{}, err
		}
		out := UnreadsOut{Notice: UntrustedNotice, Channels: []Unread{}, NextCursor: next}
		for i := range chs {
			ch := channelOf(&chs[i])
			if !c.read.allows(ch.ID, ch.Name) {
				continue
			}
			c.dir.putChannels([]Channel{ch})
			info, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: ch.ID})
			if err != nil {
				return UnreadsOut{}, err
			}
			out.Checked++
			if n := info.UnreadCountDisplay; n > 0 {
				out.Channels = append(out.Channels, Unread{Channel: display(ch), Unread: n, LastRead: info.LastRead})
			}
		}
		return out, nil
	})
}
