package github

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	gh "github.com/google/go-github/v66/github"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
)

// NotificationsIn filters notifications.
type NotificationsIn struct {
	Owner         string `json:"owner,omitempty" jsonschema:"with repo: only this repository's notifications"`
	Repo          string `json:"repo,omitempty" jsonschema:"repository name (with owner)"`
	All           bool   `json:"all,omitempty" jsonschema:"include notifications already read"`
	Participating bool   `json:"participating,omitempty" jsonschema:"only where you participate or are mentioned"`
	Since         string `json:"since,omitempty" jsonschema:"only updated after this RFC 3339 time"`
	Page
	Connection string `json:"connection,omitempty" jsonschema:"connection name; the default one when empty"`
}

func (in NotificationsIn) scope() scope {
	return scope{conn: in.Connection, owner: in.Owner, repo: in.Repo}
}

// Notification is a notification thread.
type Notification struct {
	ID        string `json:"id"`
	Repo      string `json:"repo"`
	Type      string `json:"type"`
	Title     string `json:"title"`
	Reason    string `json:"reason"`
	Unread    bool   `json:"unread"`
	UpdatedAt string `json:"updated_at,omitempty"`
	URL       string `json:"url,omitempty"`
}

// NotificationsOut is a page of notifications.
type NotificationsOut struct {
	Notice        string         `json:"notice"`
	Notifications []Notification `json:"notifications"`
	NextCursor    string         `json:"next_cursor,omitempty"`
}

func newListNotifications(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "list_notifications",
		Title:       "List notifications",
		Description: "Lists the connection's unread notifications (all with all), optionally for one repository, newest first.",
		Toolset:     toolsetNotifications, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"notifications"},
	}, func(ctx context.Context, c *Conn, in NotificationsIn) (NotificationsOut, error) {
		if (in.Owner == "") != (in.Repo == "") {
			return NotificationsOut{}, errors.New("give owner and repo together, or neither")
		}
		opts, err := in.options()
		if err != nil {
			return NotificationsOut{}, err
		}
		since, err := parseTime("since", in.Since)
		if err != nil {
			return NotificationsOut{}, err
		}
		no := &gh.NotificationListOptions{All: in.All, Participating: in.Participating, Since: since, ListOptions: opts}
		var ns []*gh.Notification
		var resp *gh.Response
		if in.Repo != "" {
			ns, resp, err = c.client.Activity.ListRepositoryNotifications(ctx, in.Owner, in.Repo, no)
		} else {
			ns, resp, err = c.client.Activity.ListNotifications(ctx, no)
		}
		if err != nil {
			return NotificationsOut{}, err
		}
		out := NotificationsOut{Notice: UntrustedNotice, Notifications: []Notification{}, NextCursor: next(resp)}
		for _, n := range ns {
			r := n.GetRepository()
			if !c.allow.repo(r.GetOwner().GetLogin(), r.GetName()) {
				continue // outside the connection's allowlist
			}
			out.Notifications = append(out.Notifications, Notification{ID: n.GetID(), Repo: r.GetFullName(), Type: n.GetSubject().GetType(),
				Title: untrusted.Line(n.GetSubject().GetTitle()), Reason: n.GetReason(), Unread: n.GetUnread(),
				UpdatedAt: ts(n.UpdatedAt), URL: subjectWebURL(n)})
		}
		return out, nil
	})
}

// subjectWebURL turns a notification subject's API URL into the web URL
// (.../repos/o/r/pulls/1 -> https://host/o/r/pull/1) when it can.
func subjectWebURL(n *gh.Notification) string {
	repo := n.GetRepository().GetHTMLURL()
	api := n.GetSubject().GetURL()
	if repo == "" || api == "" {
		return repo
	}
	_, rest, ok := strings.Cut(api, "/repos/"+n.GetRepository().GetFullName()+"/")
	if !ok {
		return repo
	}
	rest = strings.Replace(rest, "pulls/", "pull/", 1)
	return repo + "/" + rest
}

// MarkReadIn says which notifications to mark read.
type MarkReadIn struct {
	ThreadID   string `json:"thread_id,omitempty" jsonschema:"one notification thread (the id from list_notifications)"`
	Owner      string `json:"owner,omitempty" jsonschema:"with repo: every notification of this repository"`
	Repo       string `json:"repo,omitempty" jsonschema:"repository name (with owner)"`
	LastReadAt string `json:"last_read_at,omitempty" jsonschema:"only notifications updated before this RFC 3339 time (default now)"`
	Connection string `json:"connection,omitempty" jsonschema:"connection name; the default one when empty"`
}

func (in MarkReadIn) scope() scope { return scope{conn: in.Connection, owner: in.Owner, repo: in.Repo} }

var threadIDRE = regexp.MustCompile(`^[0-9]{1,20}$`)

func newMarkNotificationsRead(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "mark_notifications_read",
		Title: "Mark notifications read",
		Description: "Marks one notification thread, a repository's notifications, or (with neither) all notifications as read. " +
			"GitHub offers no way to mark them unread again.",
		Toolset: toolsetNotifications, Effect: core.Destructive, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"notifications"},
	}, func(ctx context.Context, c *Conn, in MarkReadIn) (Done, error) {
		if (in.Owner == "") != (in.Repo == "") {
			return Done{}, errors.New("give owner and repo together, or neither")
		}
		lastRead := s.now()
		if in.LastReadAt != "" {
			var err error
			if lastRead, err = parseTime("last_read_at", in.LastReadAt); err != nil {
				return Done{}, err
			}
		}
		at := gh.Timestamp{Time: lastRead.UTC().Truncate(time.Second)}
		switch {
		case in.ThreadID != "":
			if in.Repo != "" {
				return Done{}, errors.New("give thread_id or owner and repo, not both")
			}
			if !threadIDRE.MatchString(in.ThreadID) {
				return Done{}, fmt.Errorf("thread_id %s is not a notification thread id", core.Quote(in.ThreadID))
			}
			// The thread's repository must be inside the allowlist: look
			// before writing.
			t, _, err := c.client.Activity.GetThread(ctx, in.ThreadID)
			if err != nil {
				return Done{}, err
			}
			r := t.GetRepository()
			if !c.allow.repo(r.GetOwner().GetLogin(), r.GetName()) {
				return Done{}, fmt.Errorf("notification %s belongs to %s, which is not in the allowlist of connection %q (%s)", in.ThreadID, r.GetFullName(), c.Name, c.allow.text)
			}
			if _, err := c.client.Activity.MarkThreadRead(ctx, in.ThreadID); err != nil {
				return Done{}, err
			}
			return Done{Done: true, Message: "notification " + in.ThreadID + " marked read"}, nil
		case in.Repo != "":
			if _, err := c.client.Activity.MarkRepositoryNotificationsRead(ctx, in.Owner, in.Repo, at); err != nil {
				return Done{}, err
			}
			return Done{Done: true, Message: fmt.Sprintf("notifications of %s/%s up to %s marked read", in.Owner, in.Repo, at.Format(time.RFC3339))}, nil
		default:
			if err := requireUnrestricted(c, "marking every notification read"); err != nil {
				return Done{}, err
			}
			if _, err := c.client.Activity.MarkNotificationsRead(ctx, at); err != nil {
				return Done{}, err
			}
			return Done{Done: true, Message: "all notifications up to " + at.Format(time.RFC3339) + " marked read"}, nil
		}
	})
}
