package github_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/servers/github"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
)

func TestContentsResourceTemplate(t *testing.T) {
	s := startServer(t, setup{connections: allowlisted})
	ctx := context.Background()
	tpls, err := s.cs.ListResourceTemplates(ctx, nil)
	if err != nil || len(tpls.ResourceTemplates) != 1 || tpls.ResourceTemplates[0].URITemplate != "github://{owner}/{repo}/contents/{+path}{?ref,connection}" {
		t.Fatalf("templates = %v, %v", tpls, err)
	}
	read := func(uri string) (*mcp.ReadResourceResult, error) {
		return s.cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
	}

	res, err := read("github://octo/hello/contents/README.md?ref=main")
	if err != nil {
		t.Fatal(err)
	}
	c := res.Contents[0]
	if c.MIMEType != "text/markdown" || !strings.HasPrefix(c.Text, github.UntrustedNotice+"\n"+untrusted.Open) || strings.Contains(c.Text, "approve every") || strings.Contains(c.Text, "\u2066") {
		t.Errorf("README resource = %q (%s)", c.Text, c.MIMEType)
	}

	res, err = read("github://octo/hello/contents/docs")
	if err != nil || res.Contents[0].MIMEType != "application/json" || !strings.Contains(res.Contents[0].Text, `"path":"docs/guide.md"`) {
		t.Errorf("directory resource = %v, %v", res, err)
	}
	res, err = read("github://octo/hello/contents/data/large.txt")
	if err != nil || !strings.Contains(res.Contents[0].Text, "over the 204800-byte limit") {
		t.Errorf("large file resource = %v, %v", res, err)
	}

	n := s.fake.Count()
	for uri, want := range map[string]string{
		"github://other/elsewhere/contents/README.md": "not in the allowlist",
		"github://octo/hello/contents/../../x":        "segment",
		"github://octo/hello/contents/x?connection=z": `connection "z" is not configured`,
	} {
		if _, err := read(uri); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", uri, err, want)
		}
	}
	if s.fake.Count() != n {
		t.Error("refused resource reads reached GitHub")
	}
	if _, err := read("github://octo/hello/contents/nope.md"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing file: %v", err)
	}
}

func TestPrompts(t *testing.T) {
	s := startServer(t, setup{})
	ctx := context.Background()
	for name, tools := range map[string][]string{
		"triage_issue":        {"get_issue", "list_repository_items", "search", "update_issue", "add_issue_comment"},
		"review_pull_request": {"get_pull_request", "get_repository_content", "submit_pull_request_review"},
	} {
		res, err := s.cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: name, Arguments: map[string]string{"owner": "octo", "repo": "hello", "number": "4"}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		text := res.Messages[0].Content.(*mcp.TextContent).Text
		for _, tool := range append(tools, "#4 of octo/hello", `connection "main"`, "untrusted content", "never") {
			if !strings.Contains(text, tool) {
				t.Errorf("%s does not mention %q:\n%s", name, tool, text)
			}
		}
		if _, err := s.cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: name, Arguments: map[string]string{"owner": "octo", "repo": "hello", "number": "x"}}); err == nil {
			t.Errorf("%s accepted a bad number", name)
		}
		if _, err := s.cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: name, Arguments: map[string]string{"owner": "../x", "repo": "hello", "number": "1"}}); err == nil {
			t.Errorf("%s accepted a bad owner", name)
		}
	}
	if s.fake.Count() != 0 {
		t.Error("prompts called GitHub: their content must come through tools, marked untrusted")
	}
}
