package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

// Directory resources: the channel and user directories of a workspace,
// a page of resourcePageSize entries per read.
const (
	channelsTemplate = "slack://{workspace}/channels{?cursor}"
	usersTemplate    = "slack://{workspace}/users{?cursor}"
	resourcePageSize = 1000
)

// directoryPage is what a directory resource holds.
type directoryPage struct {
	Notice     string    `json:"notice"`
	Workspace  string    `json:"workspace"`
	Directory  LoadState `json:"directory"`
	Channels   []Channel `json:"channels,omitempty"`
	Users      []User    `json:"users,omitempty"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

func newChannelsResource(s *Service) *core.ResourceTemplateDef {
	return &core.ResourceTemplateDef{
		Template: &mcp.ResourceTemplate{
			URITemplate: channelsTemplate, Name: "channel_directory", Title: "Slack channel directory",
			Description: "The workspace's channels the server may read (id, name, kind, membership, topic), 1000 per page, with the directory's load status.",
			MIMEType:    "application/json",
		},
		Classification: core.Internal,
		Handler: func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return s.readDirectory(req.Params.URI, kindChannels)
		},
	}
}

func newUsersResource(s *Service) *core.ResourceTemplateDef {
	return &core.ResourceTemplateDef{
		Template: &mcp.ResourceTemplate{
			URITemplate: usersTemplate, Name: "user_directory", Title: "Slack user directory",
			Description: "The workspace's people (id, handle, names, title), 1000 per page, with the directory's load status.",
			MIMEType:    "application/json",
		},
		Classification: core.Internal,
		Handler: func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return s.readDirectory(req.Params.URI, kindUsers)
		},
	}
}

func (s *Service) readDirectory(uri, kind string) (*mcp.ReadResourceResult, error) {
	invalid := func(format string, a ...any) error {
		return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf(format, a...)}
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "slack" || strings.Trim(u.Path, "/") != kind {
		return nil, invalid("%q is not a slack://<workspace>/%s URI", uri, kind)
	}
	c, err := s.workspace(u.Host)
	if err != nil || u.Host == "" {
		return nil, invalid("%q: workspace %q is not configured", uri, u.Host)
	}
	p := Page{Cursor: u.Query().Get("cursor"), Limit: maxPageSize}
	out := directoryPage{Notice: UntrustedNotice, Workspace: c.Name, Directory: c.dir.State(kind)}
	if kind == kindChannels {
		var all []Channel
		for _, ch := range c.dir.snapshotChannels() {
			if c.read.allows(ch.ID, ch.Name) {
				all = append(all, ch)
			}
		}
		out.Channels, out.NextCursor, err = pageOf(all, p.Cursor)
	} else {
		out.Users, out.NextCursor, err = pageOf(c.dir.snapshotUsers(), p.Cursor)
	}
	if err != nil {
		return nil, invalid("%v", err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "application/json", Text: string(b)}}}, nil
}

func pageOf[T any](items []T, cursor string) ([]T, string, error) {
	start := 0
	if cursor != "" {
		if _, err := fmt.Sscanf(cursor, "o%d", &start); err != nil || start < 0 {
			return nil, "", fmt.Errorf("cursor %q is not one this server issued", cursor)
		}
		start = min(start, len(items))
	}
	end := min(start+resourcePageSize, len(items))
	next := ""
	if end < len(items) {
		next = fmt.Sprintf("o%d", end)
	}
	return items[start:end], next, nil
}
