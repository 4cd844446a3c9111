package crm_test

import (
	"context"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/servers/crm"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

func TestConfigValidate(t *testing.T) {
	if err := (func() error { c := crm.NewDefaultConfig(); return c.Validate() })(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	cfg := crm.NewDefaultConfig()
	cfg.Driver = "postgres"
	cfg.DefaultCurrency = "EURO"
	cfg.Pipelines = append(cfg.Pipelines, crm.Pipeline{Name: "Renewals", Stages: []crm.Stage{{Name: "open", Probability: 1.5, Status: "maybe"}}})
	cfg.CustomProperties.Contacts = []crm.PropertyDef{{Name: "tier", Type: "enum"}, {Name: "tier", Type: "color"}, {Name: "email", Type: "string"}}
	err := cfg.Validate()
	for _, want := range []string{"crm.dsn is required", `default_currency "EURO"`, `"Renewals" must be snake_case`, "probability 1.5",
		`status "maybe"`, "needs at least one open and one won stage", "values are required for enum", `"tier" is defined twice`,
		`type "color"`, `"email" clashes with a built-in contacts field`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
	if _, err := crm.NewService(cfg, nil); err == nil {
		t.Fatal("NewService accepted an invalid config")
	}
	// Stop without Start is safe.
	svc, err := crm.NewService(crm.NewDefaultConfig(), nil)
	if err != nil || svc.Stop(context.Background()) != nil {
		t.Fatalf("Stop without Start: %v", err)
	}
}

func TestConfigSection(t *testing.T) {
	// Unknown keys fail startup instead of being ignored.
	_, err := coretest.New(coretest.Options{YAML: crm.TestYAML(t.TempDir()) + "  drvier: sqlite\n", Modules: []fx.Option{crm.Module}})
	if err == nil || !strings.Contains(err.Error(), "drvier") {
		t.Fatalf("typo in the crm section: %v", err)
	}
	_, err = coretest.New(coretest.Options{YAML: crm.TestYAML(t.TempDir()) + "  driver: mysql\n", Modules: []fx.Option{crm.Module}})
	if err == nil || !strings.Contains(err.Error(), `driver "mysql"`) {
		t.Fatalf("unknown driver: %v", err)
	}
	// A second pipeline with its own stages; environment overrides work.
	yaml := `  pipelines:
    - name: renewals
      stages:
        - {name: due, probability: 0.6, status: open}
        - {name: renewed, probability: 1, status: won}
        - {name: churned, probability: 0, status: lost}
`
	s := startServer(t, store.SQLite, yaml)
	d := call[crm.WriteOut[crm.DealView]](t, s, "create_deal", obj{"name": "R", "amount": 5})
	if d.Record.Pipeline != "renewals" || d.Record.Stage != "due" || d.Record.Probability != 0.6 {
		t.Fatalf("deal in the configured pipeline = %+v", d.Record)
	}
	callErr(t, s, "move_deal_stage", obj{"id": d.Record.ID, "expected_version": 1, "stage": "proposal"}, `stages in order are: "due", "renewed", "churned"`)
}

// TestStoreFailureIsInternal: a broken database is a protocol error with no
// detail, not a tool error that leaks internals to the model.
func TestStoreFailureIsInternal(t *testing.T) {
	s := startServer(t, store.SQLite, "")
	if err := s.svc.Store().Close(); err != nil {
		t.Fatal(err)
	}
	_, err := s.cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "search_records", Arguments: obj{"type": "contacts"}})
	if err == nil || !strings.Contains(err.Error(), "internal CRM database error") || strings.Contains(err.Error(), "sql") {
		t.Fatalf("search on a closed database: %v", err)
	}
}
