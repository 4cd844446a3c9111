package slack

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

// ListChannelsIn filters the channel directory.
type ListChannelsIn struct {
	Types      []string `json:"types,omitempty" jsonschema:"kinds to include: public, private, im, mpim (default public and private)"`
	Query      string   `json:"query,omitempty" jsonschema:"only channels whose name, topic or purpose contains this"`
	MemberOnly bool     `json:"member_only,omitempty" jsonschema:"only conversations the token's user or bot is a member of"`
	Archived   bool     `json:"include_archived,omitempty" jsonschema:"include archived channels"`
	Page
	WorkspaceArg
}

// Enums declares the values core puts in the schema and checks.
func (ListChannelsIn) Enums() map[string][]string {
	return map[string][]string{"types": {"public", "private", "im", "mpim"}}
}

// ChannelsOut is a page of channels.
type ChannelsOut struct {
	Notice     string    `json:"notice"`
	Source     string    `json:"source"`
	Channels   []Channel `json:"channels"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

func newListChannels(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "list_channels",
		Title: "List channels",
		Description: "Lists and filters channels, private channels, DMs and group DMs (types), by name, topic or purpose (query) or membership. " +
			"Served from the channel directory once it is loaded; until then pages come from Slack directly (source says which).",
		Toolset: toolsetChannels, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"channels:read", "groups:read", "im:read", "mpim:read"},
	}, func(ctx context.Context, c *Conn, in ListChannelsIn) (ChannelsOut, error) {
		types := in.Types
		if len(types) == 0 {
			types = []string{"public", "private"}
		}
		query := strings.ToLower(strings.TrimSpace(in.Query))
		if len(query) > 100 {
			return ChannelsOut{}, fmt.Errorf("query is longer than 100 characters")
		}
		keep := func(ch Channel) bool {
			if !slices.Contains(types, ch.Kind) || (ch.Archived && !in.Archived) || (in.MemberOnly && !ch.IsMember) || !c.read.allows(ch.ID, ch.Name) {
				return false
			}
			return query == "" || strings.Contains(ch.Name, query) || strings.Contains(strings.ToLower(ch.Topic), query) || strings.Contains(strings.ToLower(ch.Purpose), query)
		}
		out := ChannelsOut{Notice: UntrustedNotice, Channels: []Channel{}}
		if st := c.dir.State(kindChannels); st.complete() && !strings.HasPrefix(in.Cursor, "s") {
			var all []Channel
			for _, ch := range c.dir.snapshotChannels() {
				if keep(ch) {
					all = append(all, ch)
				}
			}
			page, next, err := offsetPage(all, in.Page)
			if err != nil {
				return ChannelsOut{}, err
			}
			out.Source, out.Channels, out.NextCursor = "directory", append(out.Channels, page...), next
			return out, nil
		}
		// The directory is still loading: page through Slack itself, with
		// the filter applied to each page (a page may come back short).
		size, err := in.size()
		if err != nil {
			return ChannelsOut{}, err
		}
		cursor := strings.TrimPrefix(in.Cursor, "s")
		if err := checkCursor(cursor); err != nil {
			return ChannelsOut{}, err
		}
		var slackTypes []string
		for _, t := range types {
			slackTypes = append(slackTypes, map[string]string{"public": "public_channel", "private": "private_channel", "im": "im", "mpim": "mpim"}[t])
		}
		chs, next, err := c.api().GetConversationsContext(ctx, &slack.GetConversationsParameters{
			Cursor: cursor, Limit: max(size, 200), Types: slackTypes, ExcludeArchived: !in.Archived, TeamID: c.teamID,
		})
		if err != nil {
			return ChannelsOut{}, err
		}
		var page []Channel
		for i := range chs {
			ch := channelOf(&chs[i])
			page = append(page, ch)
			if keep(ch) {
				out.Channels = append(out.Channels, ch)
			}
		}
		c.dir.putChannels(page)
		out.Source = "slack (directory " + c.dir.State(kindChannels).Status + ")"
		if next != "" {
			out.NextCursor = "s" + next
		}
		return out, nil
	})
}

// ChannelIn names a channel.
type ChannelIn struct {
	Channel string `json:"channel" jsonschema:"channel id (C...), #name, or @person for your DM with them"`
	Method  string `json:"method,omitempty" jsonschema:"info (default): the channel; members: its members, paged"`
	Page
	WorkspaceArg
}

// Enums declares the values core puts in the schema and checks.
func (ChannelIn) Enums() map[string][]string {
	return map[string][]string{"method": {"info", "members"}}
}

// ChannelOut is a channel or its members.
type ChannelOut struct {
	Notice     string   `json:"notice"`
	Channel    *Channel `json:"channel,omitempty"`
	Members    []string `json:"members,omitempty"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

func newGetChannel(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "get_channel",
		Title:       "Get a channel or its members",
		Description: "Returns a channel's details (method info: kind, topic, purpose, member count) or its members as @names (method members, paged).",
		Toolset:     toolsetChannels, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"channels:read", "groups:read", "im:read", "mpim:read"},
	}, func(ctx context.Context, c *Conn, in ChannelIn) (ChannelOut, error) {
		ch, err := c.readChannel(ctx, in.Channel)
		if err != nil {
			return ChannelOut{}, err
		}
		out := ChannelOut{Notice: UntrustedNotice}
		if in.Method != "members" {
			full, err := c.dir.channel(ctx, ch.ID)
			if err != nil {
				return ChannelOut{}, err
			}
			out.Channel = &full
			return out, nil
		}
		size, err := in.size()
		if err != nil {
			return ChannelOut{}, err
		}
		if err := checkCursor(in.Cursor); err != nil {
			return ChannelOut{}, err
		}
		ids, next, err := c.api().GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{ChannelID: ch.ID, Cursor: in.Cursor, Limit: size})
		if err != nil {
			return ChannelOut{}, err
		}
		out.Members, out.NextCursor = s.userNames(ctx, c, ids), next
		return out, nil
	})
}

// userNames renders user ids as "@name (U...)", fetching at most
// maxUserLookups unknown ones.
func (s *Service) userNames(ctx context.Context, c *Conn, ids []string) []string {
	out := make([]string, 0, len(ids))
	lookups := 0
	for _, id := range ids {
		u, ok := c.dir.knownUser(id)
		if !ok && lookups < maxUserLookups {
			lookups++
			if fetched, err := c.dir.user(ctx, id); err == nil {
				u, ok = fetched, true
			}
		}
		if ok {
			out = append(out, "@"+u.Name+" ("+id+")")
		} else {
			out = append(out, id)
		}
	}
	return out
}

// ListUsersIn filters the user directory.
type ListUsersIn struct {
	Query       string `json:"query,omitempty" jsonschema:"only users whose handle, display name, real name or title contains this"`
	IncludeBots bool   `json:"include_bots,omitempty" jsonschema:"include bots"`
	Page
	WorkspaceArg
}

// UsersOut is a page of users.
type UsersOut struct {
	Notice     string    `json:"notice"`
	Directory  LoadState `json:"directory"`
	Users      []User    `json:"users"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

func newListUsers(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "list_users",
		Title: "List and search users",
		Description: "Lists and searches the workspace's people by handle, display name, real name or title (query), deactivated users left out. " +
			"Served from the user directory; while it loads (directory.status not complete) results may miss people.",
		Toolset: toolsetUsers, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"users:read"},
	}, func(ctx context.Context, c *Conn, in ListUsersIn) (UsersOut, error) {
		q := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(in.Query, "@")))
		if len(q) > 100 {
			return UsersOut{}, fmt.Errorf("query is longer than 100 characters")
		}
		var all []User
		for _, u := range c.dir.snapshotUsers() {
			if u.Deleted || (u.IsBot && !in.IncludeBots) {
				continue
			}
			if q == "" || strings.Contains(strings.ToLower(u.Name), q) || strings.Contains(strings.ToLower(u.DisplayName), q) ||
				strings.Contains(strings.ToLower(u.RealName), q) || strings.Contains(strings.ToLower(u.Title), q) {
				all = append(all, u)
			}
		}
		page, next, err := offsetPage(all, in.Page)
		if err != nil {
			return UsersOut{}, err
		}
		return UsersOut{Notice: UntrustedNotice, Directory: c.dir.State(kindUsers), Users: append([]User{}, page...), NextCursor: next}, nil
	})
}

// UserIn names a user.
type UserIn struct {
	User   string `json:"user" jsonschema:"user id (U...), @handle or e-mail address"`
	Method string `json:"method,omitempty" jsonschema:"profile (default): name, title, status, time zone; presence: active or away"`
	WorkspaceArg
}

// Enums declares the values core puts in the schema and checks.
func (UserIn) Enums() map[string][]string {
	return map[string][]string{"method": {"profile", "presence"}}
}

// UserOut is a user's profile or presence.
type UserOut struct {
	Notice   string `json:"notice"`
	User     User   `json:"user"`
	Email    string `json:"email,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Status   string `json:"status,omitempty"`
	Presence string `json:"presence,omitempty"`
}

func newGetUser(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "get_user",
		Title:       "Get a user's profile or presence",
		Description: "Returns a person's profile (method profile: names, title, status, e-mail where the token may read it, time zone) or presence (method presence).",
		Toolset:     toolsetUsers, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Confidential, Permissions: []string{"users:read", "users.profile:read", "users:read.email"},
	}, func(ctx context.Context, c *Conn, in UserIn) (UserOut, error) {
		u, err := c.userRef(ctx, in.User)
		if err != nil {
			return UserOut{}, err
		}
		out := UserOut{Notice: UntrustedNotice, User: u}
		if in.Method == "presence" {
			p, err := c.api().GetUserPresenceContext(ctx, u.ID)
			if err != nil {
				return UserOut{}, err
			}
			out.Presence = p.Presence
			return out, nil
		}
		p, err := c.api().GetUserProfileContext(ctx, &slack.GetUserProfileParameters{UserID: u.ID})
		if err != nil {
			return UserOut{}, err
		}
		out.Email, out.Phone = p.Email, cleanLine(p.Phone)
		out.Status = strings.TrimSpace(cleanLine(p.StatusEmoji + " " + p.StatusText))
		return out, nil
	})
}

// UserGroupsIn selects user groups or one group's members.
type UserGroupsIn struct {
	Group string `json:"group,omitempty" jsonschema:"a user group id (S...) or @handle: list its members instead of the groups"`
	WorkspaceArg
}

// UserGroup is a user group.
type UserGroup struct {
	ID          string `json:"id"`
	Handle      string `json:"handle"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Users       int    `json:"users"`
}

// UserGroupsOut lists groups or members.
type UserGroupsOut struct {
	Notice  string      `json:"notice"`
	Groups  []UserGroup `json:"groups,omitempty"`
	Members []string    `json:"members,omitempty"`
}

func newListUserGroups(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "list_user_groups",
		Title:       "List user groups and members",
		Description: "Lists the workspace's user groups (@handles such as @oncall), or with group the members of one. Read only: groups are not changed.",
		Toolset:     toolsetUsers, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"usergroups:read"},
	}, func(ctx context.Context, c *Conn, in UserGroupsIn) (UserGroupsOut, error) {
		out := UserGroupsOut{Notice: UntrustedNotice}
		g := strings.TrimSpace(in.Group)
		var opts []slack.GetUserGroupsOption
		if c.teamID != "" {
			opts = append(opts, slack.GetUserGroupsOptionTeamID(c.teamID))
		}
		if g != "" && !groupIDRE.MatchString(g) {
			handle := strings.TrimPrefix(g, "@")
			if !userNameRE.MatchString(handle) {
				return UserGroupsOut{}, fmt.Errorf("group %q is neither a user group id (S...) nor an @handle", g)
			}
			groups, err := c.api().GetUserGroupsContext(ctx, opts...)
			if err != nil {
				return UserGroupsOut{}, err
			}
			g = ""
			for _, ug := range groups {
				if strings.EqualFold(ug.Handle, handle) {
					g = ug.ID
				}
			}
			if g == "" {
				return UserGroupsOut{}, fmt.Errorf("no user group @%s; call list_user_groups without group to see them", handle)
			}
		}
		if g != "" {
			ids, err := c.api().GetUserGroupMembersContext(ctx, g)
			if err != nil {
				return UserGroupsOut{}, err
			}
			out.Members = s.userNames(ctx, c, ids)
			return out, nil
		}
		groups, err := c.api().GetUserGroupsContext(ctx, append(opts, slack.GetUserGroupsOptionIncludeCount(true))...)
		if err != nil {
			return UserGroupsOut{}, err
		}
		for _, ug := range groups {
			out.Groups = append(out.Groups, UserGroup{ID: ug.ID, Handle: ug.Handle, Name: cleanLine(ug.Name), Description: cleanLine(ug.Description), Users: ug.UserCount})
		}
		return out, nil
	})
}
