package crm_test

import (
	"context"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/servers/crm"
)

// Token budgets of the default tools/list (coretest.MeasureToolList: JSON
// bytes / 4), with the shipped defaults (crm.DefaultConfig), which leave
// output schemas out of the list.
const (
	modelTokenBudget = 4300
	wireTokenBudget  = 5000
)

// TestDefaultToolListTokenSize measures what the CRM's default tool list
// costs a model's context on every turn, and fails when it grows past
// budget.
func TestDefaultToolListTokenSize(t *testing.T) {
	var cs *mcp.ClientSession
	list := func(env map[string]string) coretest.ToolListSize {
		if env == nil {
			env = map[string]string{}
		}
		env["MCPFLEET_CRM_DATA_DIR"] = t.TempDir()
		h := coretest.Start(t, coretest.Options{YAML: string(crm.DefaultConfig), Env: env, Modules: []fx.Option{crm.Module}})
		cs = h.Connect(t, nil)
		return coretest.MeasureToolList(t, cs)
	}
	def := list(nil)
	// Without output schemas in the list, results still carry structured content.
	if res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "pipeline_summary", Arguments: map[string]any{}}); err != nil || res.IsError || res.StructuredContent == nil {
		t.Errorf("pipeline_summary with the shipped defaults: %v, %+v", err, res)
	}
	withSchemas := list(map[string]string{"MCPFLEET_TOOLS_OUTPUT_SCHEMAS": "true"})
	t.Logf("default tools/list: %d tools; model-facing (name, description, input schema) %d bytes = about %d tokens; whole message %d bytes = about %d tokens (%d with output schemas)",
		def.Tools, def.Model, def.ModelTokens(), def.Wire, def.WireTokens(), withSchemas.WireTokens())
	if def.ModelTokens() > modelTokenBudget || def.WireTokens() > wireTokenBudget {
		t.Errorf("default tools/list is about %d tokens for the model (budget %d) and %d on the wire (budget %d): shorten descriptions or consolidate tools",
			def.ModelTokens(), modelTokenBudget, def.WireTokens(), wireTokenBudget)
	}
	if def.OutputSchemas != 0 || withSchemas.OutputSchemas != withSchemas.Tools {
		t.Errorf("output schemas: %d of %d tools by default (want none), %d of %d with tools.output_schemas: true (want all)",
			def.OutputSchemas, def.Tools, withSchemas.OutputSchemas, withSchemas.Tools)
	}
}
