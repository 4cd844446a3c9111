package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := core.Run(context.Background(), app(), args, core.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut},
		func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return code, out.String(), errOut.String()
}

// TestFailsFastWithoutAWorkspace: one line on stderr that says what to set.
func TestFailsFastWithoutAWorkspace(t *testing.T) {
	code, _, stderr := run(t, nil)
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "mcp-slack: slack: no workspace configured; set MCPFLEET_SLACK_TOKEN") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = run(t, map[string]string{"MCPFLEET_SLACK_TOKEN": "xoxc-browser"})
	if code != 1 || !strings.Contains(stderr, "browser session token") || strings.Contains(stderr, "xoxc-browser") {
		t.Errorf("browser token: exit %d, stderr %q", code, stderr)
	}
}

// TestListsDefaultTools: with a token from the environment the full
// production module set builds; nothing is called.
func TestListsDefaultTools(t *testing.T) {
	code, stdout, stderr := run(t, map[string]string{"MCPFLEET_SLACK_TOKEN": "env:SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN": "xoxb-x"}, "--list-tools")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var tools []core.ToolInfo
	if err := json.Unmarshal([]byte(stdout), &tools); err != nil {
		t.Fatal(err)
	}
	if len(tools) != 12 {
		t.Errorf("%d default tools, want 12", len(tools))
	}
	code, stdout, _ = run(t, map[string]string{"MCPFLEET_SLACK_TOKEN": "xoxb-literal"}, "--print-config")
	if code != 0 || strings.Contains(stdout, "xoxb-literal") || !strings.Contains(stdout, "[redacted]") {
		t.Errorf("print-config (exit %d) shows the token or no redaction:\n%s", code, stdout)
	}
}
