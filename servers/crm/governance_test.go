package crm_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/pkg/policy"
	"github.com/mcpfleet/mcpfleet/pkg/policy/audit"
	"github.com/mcpfleet/mcpfleet/servers/crm"
)

// TestPromptsFollowThePolicy: with default deny and no role, the CRM's
// prompts/get account_brief returns no records and is audited, like a
// tool call or a resource read would be; prompts/list shows nothing.
func TestPromptsFollowThePolicy(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "deny.yaml")
	if err := os.WriteFile(pol, []byte("version: 1\ndefault: deny\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	auditPath := filepath.Join(dir, "audit.jsonl")
	yaml := crm.TestYAML(dir) + "  load_demo_data: true\n" +
		fmt.Sprintf("auth:\n  stdio: {subject: mallory}\npolicy:\n  file: %s\n  audit:\n    sinks: [{type: file, path: %s}]\n", pol, auditPath)
	h := coretest.Start(t, coretest.Options{YAML: yaml, Modules: []fx.Option{crm.Module, policy.Module}})
	cs := h.Connect(t, nil)
	ctx := t.Context()

	res, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "account_brief", Arguments: map[string]string{"company_id": "1"}})
	if err == nil {
		t.Fatalf("account_brief under default deny returned %d messages", len(res.Messages))
	}
	if !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("error: %v", err)
	}
	// A company that does not exist gets the same refusal.
	_, err2 := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "account_brief", Arguments: map[string]string{"company_id": "999999"}})
	if err2 == nil || err2.Error() != err.Error() {
		t.Errorf("refusals differ: %v / %v", err, err2)
	}
	// Resources: a denied read says the same for a record that exists and
	// one that does not.
	_, e1 := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "crm://contacts/1"})
	_, e2 := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "crm://contacts/999999"})
	if e1 == nil || e2 == nil || strings.Replace(e2.Error(), "999999", "1", -1) != e1.Error() {
		t.Errorf("denied reads differ: %v / %v", e1, e2)
	}
	// Tools: a hidden tool answers like a tool that does not exist.
	_, e1 = cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_record", Arguments: map[string]any{"type": "contacts", "id": 1}})
	_, e2 = cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_recorx", Arguments: map[string]any{"type": "contacts", "id": 1}})
	if e1 == nil || e2 == nil || strings.Replace(e2.Error(), "get_recorx", "get_record", 1) != e1.Error() {
		t.Errorf("hidden and missing tools differ: %v / %v", e1, e2)
	}
	if lp, err := cs.ListPrompts(ctx, nil); err != nil || len(lp.Prompts) != 0 {
		t.Errorf("prompts/list: %v %+v", err, lp)
	}
	var recs []audit.Record
	deadline := time.Now().Add(20 * time.Second)
	for len(recs) < 6 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		recs = readAudit(t, auditPath)
	}
	if len(recs) != 6 {
		t.Fatalf("%d audit records, want 6", len(recs))
	}
	for _, r := range recs[:2] {
		if r.Method != "prompts/get" || r.Tool != "account_brief" || r.Decision != "deny" || r.Principal == "" {
			t.Errorf("record: %+v", r)
		}
	}
	if r := recs[2]; r.Method != "resources/read" || r.Decision != "deny" {
		t.Errorf("resource record: %+v", r)
	}
}

func readAudit(t *testing.T, path string) []audit.Record {
	recs, err := audit.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return recs
}
