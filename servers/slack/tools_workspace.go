package slack

import (
	"context"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

// WorkspaceOut is who a workspace's token acts as and what it may do.
type WorkspaceOut struct {
	Workspace     string    `json:"workspace"`
	Team          string    `json:"team,omitempty"`
	TeamID        string    `json:"team_id,omitempty"`
	User          string    `json:"user,omitempty"`
	UserID        string    `json:"user_id,omitempty"`
	Tokens        []string  `json:"tokens"`
	ReadOnly      bool      `json:"read_only,omitempty"`
	Channels      string    `json:"channels"`
	Write         string    `json:"write"`
	UnfurlDomains []string  `json:"unfurl_domains,omitempty"`
	Users         LoadState `json:"users_directory"`
	ChannelsDir   LoadState `json:"channels_directory"`
}

func newGetWorkspace(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "get_workspace",
		Title: "Who am I on Slack",
		Description: "Returns who a workspace's token acts as (team, user or bot), which tokens it has (search and unreads need a user token), " +
			"which channels it may read and write, and how far its user and channel directories have loaded. Call it first.",
		Toolset: toolsetWorkspace, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: core.NoPermissions,
	}, func(ctx context.Context, c *Conn, in WorkspaceArg) (WorkspaceOut, error) {
		info, err := c.auth(ctx, s.clock.Now())
		if err != nil {
			return WorkspaceOut{}, err
		}
		out := WorkspaceOut{
			Workspace: c.Name, Team: cleanLine(info.Team), TeamID: info.TeamID, User: info.User, UserID: info.UserID,
			Tokens: c.tokens(), ReadOnly: c.readOnly, Channels: c.read.text, UnfurlDomains: c.unfurl,
			Users: c.dir.State(kindUsers), ChannelsDir: c.dir.State(kindChannels),
		}
		switch {
		case c.readOnly || !c.writeOn:
			out.Write = "off"
		default:
			out.Write = c.write.text
		}
		return out, nil
	})
}
