package clients_test

import (
	"testing"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/servers/crm"
	"github.com/mcpfleet/mcpfleet/tests/internal/fixturetest"
)

// The CRM server, in-process over HTTP with auth on, driven by the
// TypeScript SDK: create a contact, then find it.
func TestTypeScriptClientAgainstCRM(t *testing.T) {
	t.Parallel()
	requireClients(t)
	st := fixturetest.Start(t, fixturetest.Options{
		WithoutFixture: true,
		YAML:           crm.TestYAML(t.TempDir()),
		Modules:        []fx.Option{crm.Module},
	})
	run := tsClient(t, st.URL(), st.Token("sales-rep"),
		step{"op": "callTool", "name": "create_contact", "arguments": map[string]any{
			"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "title": "Analyst",
			"idempotency_key": "client-test-1"}},
		step{"op": "callTool", "name": "create_contact", "arguments": map[string]any{
			"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "title": "Analyst",
			"idempotency_key": "client-test-1"}},
		step{"op": "callTool", "name": "search_records", "arguments": map[string]any{"type": "contacts", "query": "Lovelace"}},
		step{"op": "callTool", "name": "create_contact", "arguments": map[string]any{"email": "not an address"}},
	)
	if run.Error != nil {
		t.Fatalf("client error: %s", run.Error.Message)
	}
	created := result[toolResult](t, run, 0)
	record, _ := created.StructuredContent["record"].(map[string]any)
	if created.IsError || record["id"] == nil || record["last_name"] != "Lovelace" {
		t.Fatalf("create_contact: %+v", created)
	}
	// The retry with the same idempotency key returns the same contact.
	retried := result[toolResult](t, run, 1)
	if again, _ := retried.StructuredContent["record"].(map[string]any); retried.IsError || again["id"] != record["id"] {
		t.Errorf("retried create_contact: %+v, want id %v", retried, record["id"])
	}
	found := result[toolResult](t, run, 2)
	contacts, _ := found.StructuredContent["contacts"].([]any)
	if found.IsError || len(contacts) != 1 || contacts[0].(map[string]any)["id"] != record["id"] {
		t.Errorf("search_records: %+v", found)
	}
	if bad := result[toolResult](t, run, 3); !bad.IsError || bad.text() == "" {
		t.Errorf("create_contact with a bad e-mail: %+v", bad)
	}
}
