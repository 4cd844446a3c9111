package slack_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestDirectoryResources(t *testing.T) {
	s := startServer(t, setup{slack: "  cache: {warm_up: true}\n"})
	waitDirectory(t, s, "main")
	ctx := context.Background()
	templates, err := s.cs.ListResourceTemplates(ctx, nil)
	if err != nil || len(templates.ResourceTemplates) != 2 {
		t.Fatalf("templates: %v %v", templates, err)
	}
	for _, tc := range []struct{ uri, key string }{{"slack://main/channels", "channels"}, {"slack://main/users", "users"}} {
		res, err := s.cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: tc.uri})
		if err != nil {
			t.Fatalf("%s: %v", tc.uri, err)
		}
		var page map[string]any
		if err := json.Unmarshal([]byte(res.Contents[0].Text), &page); err != nil {
			t.Fatal(err)
		}
		if str(page, "directory.status") != "complete" || length(page, tc.key) == 0 {
			t.Errorf("%s: %v", tc.uri, page)
		}
	}
	for _, bad := range []string{"slack://nope/users", "slack://main/other", "slack://main/users?cursor=zz"} {
		if _, err := s.cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: bad}); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// Prompts name the tools to call; they never paste message text.
func TestPrompts(t *testing.T) {
	s := startServer(t, setup{})
	ctx := context.Background()
	res, err := s.cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "catch_up_channel", Arguments: map[string]string{"channel": "C0GENERAL", "window": "7d"}})
	if err != nil {
		t.Fatal(err)
	}
	txt := res.Messages[0].Content.(*mcp.TextContent).Text
	for _, want := range []string{"get_channel_history", `channel "C0GENERAL"`, `limit "7d"`, "get_thread_replies", "untrusted"} {
		if !strings.Contains(txt, want) {
			t.Errorf("catch_up_channel lacks %q:\n%s", want, txt)
		}
	}
	if strings.Contains(txt, "deploy is done") {
		t.Error("prompt pastes message text")
	}
	res, err = s.cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "summarize_thread", Arguments: map[string]string{"channel": "C0GENERAL", "ts": s.fake.ThreadTS()}})
	if err != nil || !strings.Contains(res.Messages[0].Content.(*mcp.TextContent).Text, "get_thread_replies with channel \"C0GENERAL\", ts \""+s.fake.ThreadTS()) {
		t.Errorf("summarize_thread: %v %v", res, err)
	}
	for _, args := range []map[string]string{{"channel": "general"}, {"channel": "C0GENERAL", "window": "forever"}} {
		if _, err := s.cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "catch_up_channel", Arguments: args}); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if n := len(s.fake.Requests()); n != 0 {
		t.Errorf("prompts called Slack %d times", n)
	}
}
