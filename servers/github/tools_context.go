package github

import (
	"context"
	"encoding/json"
	"fmt"

	gh "github.com/google/go-github/v66/github"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
)

// MeOut is who a connection acts as.
type MeOut struct {
	Connection     string            `json:"connection"`
	Auth           string            `json:"auth"`
	Login          string            `json:"login,omitempty"`
	Name           string            `json:"name,omitempty"`
	Type           string            `json:"type,omitempty"`
	Company        string            `json:"company,omitempty"`
	URL            string            `json:"url,omitempty"`
	AppID          int64             `json:"app_id,omitempty"`
	InstallationID int64             `json:"installation_id,omitempty"`
	Permissions    map[string]string `json:"permissions,omitempty"`
	ReadOnly       bool              `json:"read_only,omitempty"`
	Allow          []string          `json:"allow,omitempty"`
}

func newGetMe(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "get_me",
		Title: "Who am I on GitHub",
		Description: "Returns who a connection acts as: the user of a token, or the GitHub App installation and its permissions, " +
			"with the connection's allowlist and read-only flag. Call it first to learn your login.",
		Toolset: toolsetContext, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: core.NoPermissions,
	}, func(ctx context.Context, c *Conn, in ConnArg) (MeOut, error) {
		out := MeOut{Connection: c.Name, Auth: c.auth, ReadOnly: c.readOnly, Allow: c.allowRaw}
		if c.auth == authApp {
			// An installation token has no user; /user answers 403.
			if _, err := c.app.Token(ctx); err != nil {
				return MeOut{}, err
			}
			out.AppID, out.InstallationID = c.appCfg.AppID, c.appCfg.InstallationID
			perms, err := c.app.Permissions()
			if err != nil {
				return MeOut{}, err
			}
			out.Permissions = permissionMap(perms)
			return out, nil
		}
		u, _, err := c.client.Users.Get(ctx, "")
		if err != nil {
			return MeOut{}, err
		}
		out.Login, out.Name, out.Type = u.GetLogin(), untrusted.Line(u.GetName()), u.GetType()
		out.Company, out.URL = untrusted.Line(u.GetCompany()), u.GetHTMLURL()
		return out, nil
	})
}

// permissionMap flattens GitHub's permission struct to name: level.
func permissionMap(p gh.InstallationPermissions) map[string]string {
	b, _ := json.Marshal(p)
	var m map[string]string
	_ = json.Unmarshal(b, &m)
	return m
}

// TeamsIn selects teams or a team's members.
type TeamsIn struct {
	Method string `json:"method" jsonschema:"teams: teams of org (of the authenticated user without org); members: members of team"`
	Org    string `json:"org,omitempty" jsonschema:"organization login"`
	Team   string `json:"team,omitempty" jsonschema:"team slug (method members)"`
	Page
	Connection string `json:"connection,omitempty" jsonschema:"connection name; the default one when empty"`
}

// Enums lists the values core accepts for TeamsIn's enumerated properties.
func (TeamsIn) Enums() map[string][]string {
	return map[string][]string{"method": {"teams", "members"}}
}

func (in TeamsIn) scope() scope { return scope{conn: in.Connection, owner: in.Org} }

// Team is a team.
type Team struct {
	Org         string `json:"org,omitempty"`
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Privacy     string `json:"privacy,omitempty"`
}

// Member is a team member.
type Member struct {
	Login string `json:"login"`
	URL   string `json:"url,omitempty"`
}

// TeamsOut lists teams or members.
type TeamsOut struct {
	Notice     string   `json:"notice,omitempty"`
	Teams      []Team   `json:"teams,omitempty"`
	Members    []Member `json:"members,omitempty"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

func newGetTeams(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "get_teams",
		Title: "Get teams and members",
		Description: "Lists the teams of an organization (or, without org, the authenticated user's teams), " +
			"or with method members the members of one team.",
		Toolset: toolsetContext, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"members:read"},
	}, func(ctx context.Context, c *Conn, in TeamsIn) (TeamsOut, error) {
		opts, err := in.options()
		if err != nil {
			return TeamsOut{}, err
		}
		var out TeamsOut
		var resp *gh.Response
		switch in.Method {
		case "members":
			if in.Org == "" || in.Team == "" {
				return TeamsOut{}, fmt.Errorf("method members needs org and team (a team slug; method teams lists them)")
			}
			if !teamRE.MatchString(in.Team) {
				return TeamsOut{}, fmt.Errorf("team %s is not a team slug", core.Quote(in.Team))
			}
			var users []*gh.User
			users, resp, err = c.client.Teams.ListTeamMembersBySlug(ctx, in.Org, in.Team, &gh.TeamListTeamMembersOptions{ListOptions: opts})
			for _, u := range users {
				out.Members = append(out.Members, Member{Login: u.GetLogin(), URL: u.GetHTMLURL()})
			}
		default:
			var teams []*gh.Team
			if in.Org != "" {
				teams, resp, err = c.client.Teams.ListTeams(ctx, in.Org, &opts)
			} else {
				teams, resp, err = c.client.Teams.ListUserTeams(ctx, &opts)
			}
			for _, t := range teams {
				org := t.GetOrganization().GetLogin()
				if in.Org == "" && org != "" && !c.allow.owner(org) {
					continue // another organization's team, outside the allowlist
				}
				out.Teams = append(out.Teams, Team{Org: org, Slug: t.GetSlug(), Name: untrusted.Line(t.GetName()),
					Description: untrusted.Line(t.GetDescription()), Privacy: t.GetPrivacy()})
			}
			if len(out.Teams) > 0 {
				out.Notice = UntrustedNotice
			}
		}
		if err != nil {
			return TeamsOut{}, err
		}
		out.NextCursor = next(resp)
		return out, nil
	})
}
