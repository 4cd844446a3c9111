package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v66/github"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
)

// contentsTemplate addresses a file or directory of a repository.
const contentsTemplate = "github://{owner}/{repo}/contents/{+path}{?ref,connection}"

var contentsSpec = core.ToolSpec{Name: "contents_resource", Permissions: []string{"contents:read"}}

// newContentsResource serves repository files as resources, with the
// same allowlist, size cap, cleaning and marking as get_repository_content.
func newContentsResource(s *Service) *core.ResourceTemplateDef {
	return &core.ResourceTemplateDef{
		Template: &mcp.ResourceTemplate{
			URITemplate: contentsTemplate,
			Name:        "repository_contents",
			Title:       "Repository file or directory",
			Description: "A file's text (cleaned, marked untrusted, size-capped) or a directory listing, at ?ref= (default branch) through ?connection= (default connection).",
		},
		Classification: core.Internal,
		Handler: func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return s.readContents(ctx, req.Params.URI)
		},
	}
}

func (s *Service) readContents(ctx context.Context, uri string) (*mcp.ReadResourceResult, error) {
	invalid := func(err error) error {
		return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: err.Error()}
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "github" {
		return nil, invalid(fmt.Errorf("%s is not a github://owner/repo/contents/path URI", core.Quote(uri)))
	}
	repo, path, ok := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/contents")
	if !ok || (path != "" && path[0] != '/') {
		return nil, invalid(fmt.Errorf("%s is not a github://owner/repo/contents/path URI", core.Quote(uri)))
	}
	path = strings.TrimPrefix(path, "/")
	q := u.Query()
	ref := q.Get("ref")
	c, err := s.access(scope{conn: q.Get("connection"), owner: u.Host, repo: repo}, false)
	if err == nil {
		err = errors.Join(checkPath(path), checkRef("ref", ref))
	}
	if err != nil {
		return nil, invalid(err)
	}
	out, err := s.contents(ctx, c, u.Host, repo, path, ref)
	if err != nil {
		var er *gh.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == 404 {
			return nil, mcp.ResourceNotFoundError(uri)
		}
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: explain(c, contentsSpec, err).Error()}
	}
	if f := out.File; f != nil && f.Omitted == "" {
		mime := "text/plain"
		if untrusted.IsMarkdown(f.Path) {
			mime = "text/markdown"
		}
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: mime, Text: UntrustedNotice + "\n" + f.Content}}}, nil
	}
	// A directory, or a file too large or binary to return: its metadata.
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "application/json", Text: string(b)}}}, nil
}
