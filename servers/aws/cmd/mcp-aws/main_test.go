package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := core.Run(context.Background(), app(), args, core.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut},
		func(string) (string, bool) { return "", false })
	return code, out.String(), errOut.String()
}

// TestFailsFastWithoutAnAccount: one line on stderr that says what to set.
func TestFailsFastWithoutAnAccount(t *testing.T) {
	code, _, stderr := run(t)
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "mcp-aws: aws: no account configured; add aws.accounts") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestListsDefaultTools: with an account from a config file the full
// production module set (observability, policy) builds; nothing is
// called, and the external id is not printed.
func TestListsDefaultTools(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	path := filepath.Join(t.TempDir(), "aws.yaml")
	cfg := `aws:
  accounts:
    dev: {regions: [eu-west-1], default: true}
    prod:
      regions: [eu-west-1]
      assume_role: {role_arn: "arn:aws:iam::123456789012:role/mcp-read", external_id: very-secret-external-id, source_account: dev}
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "--config", path, "--list-tools")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var tools []core.ToolInfo
	if err := json.Unmarshal([]byte(stdout), &tools); err != nil {
		t.Fatal(err)
	}
	if len(tools) != 20 {
		t.Errorf("%d default tools, want 20", len(tools))
	}
	code, stdout, _ = run(t, "--config", path, "--print-config")
	if code != 0 || strings.Contains(stdout, "very-secret-external-id") || !strings.Contains(stdout, "[redacted]") {
		t.Errorf("print-config (exit %d) shows the external id or no redaction:\n%s", code, stdout)
	}
}
