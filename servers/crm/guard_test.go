package crm_test

import (
	"testing"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// TestToolsGuard is core's guard test over every CRM tool, with the schema
// snapshots in __toolsnaps__ (UPDATE_TOOLSNAPS=true refreshes them).
func TestToolsGuard(t *testing.T) {
	s := startServer(t, store.SQLite, "")
	coretest.CheckTools(t, s.harness.Catalog, "__toolsnaps__")
	// What the policy module decides from: personal data is Confidential,
	// deletion is Destructive, nothing reaches outside the CRM.
	for _, td := range s.harness.Catalog.AllTools() {
		spec := td.Spec()
		if spec.OpenWorld != core.No {
			t.Errorf("%s: CRM tools are closed-world", spec.Name)
		}
		if (spec.Name == "delete_record") != (spec.Effect == core.Destructive) {
			t.Errorf("%s: effect %s", spec.Name, spec.Effect)
		}
	}
	for _, name := range []string{"search_records", "get_record", "create_contact", "update_contact", "find_duplicate_contacts"} {
		if spec, _ := s.harness.Catalog.Spec(name); spec.Classification != core.Confidential {
			t.Errorf("%s returns contact e-mail and phone but is %s", name, spec.Classification)
		}
	}
	for _, rt := range s.harness.Catalog.ResourceTemplates() {
		if rt.Classification != core.Confidential {
			t.Errorf("resource template %s is %s", rt.Template.URITemplate, rt.Classification)
		}
	}
}
