package aws_test

import (
	"encoding/json"
	"slices"
	"testing"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/servers/aws"
	"github.com/mcpfleet/mcpfleet/servers/aws/internal/fakeaws"
)

// TestToolsGuard is core's guard test over every tool, with the schema
// snapshots in __toolsnaps__ (UPDATE_TOOLSNAPS=true refreshes them), and
// the metadata the policy decides from.
func TestToolsGuard(t *testing.T) {
	s := startServer(t, setup{noConnect: true})
	coretest.CheckTools(t, s.harness.Catalog, "__toolsnaps__")
	destructive := []string{"stop_instances", "reboot_instances", "put_object", "set_ecs_desired_count"}
	additive := []string{"start_instances"}
	confidential := []string{"get_object_text", "filter_log_events", "query_logs_insights", "get_cost_and_usage", "get_cost_forecast"}
	for _, td := range s.harness.Catalog.AllTools() {
		spec := td.Spec()
		if want := spec.Name != "list_accounts"; (spec.OpenWorld == core.Yes) != want {
			t.Errorf("%s: open world = %v, want %v", spec.Name, spec.OpenWorld == core.Yes, want)
		}
		if want := slices.Contains(destructive, spec.Name); spec.DestructiveHint() != want {
			t.Errorf("%s: destructive = %v, want %v", spec.Name, spec.DestructiveHint(), want)
		}
		if want := slices.Contains(additive, spec.Name); (spec.Effect == core.Additive) != want {
			t.Errorf("%s: additive = %v, want %v", spec.Name, spec.Effect == core.Additive, want)
		}
		want := core.Internal
		if slices.Contains(confidential, spec.Name) {
			want = core.Confidential
		}
		if spec.Classification != want {
			t.Errorf("%s: classification %s, want %s", spec.Name, spec.Classification, want)
		}
		if len(spec.Permissions) == 0 && spec.Name != "list_accounts" && spec.Name != "get_caller_identity" {
			t.Errorf("%s: declares no IAM permission", spec.Name)
		}
		if spec.Effect == core.ReadOnly && spec.Idempotent != core.Yes && spec.Name != "query_logs_insights" {
			t.Errorf("%s: a read is idempotent", spec.Name)
		}
		in, _ := json.Marshal(td.Tool().InputSchema)
		var schema struct {
			Properties map[string]any `json:"properties"`
		}
		_ = json.Unmarshal(in, &schema)
		_, hasAccount := schema.Properties["account"]
		_, hasRegion := schema.Properties["region"]
		if !hasAccount || !hasRegion {
			t.Errorf("%s: lacks the account and region arguments", spec.Name)
		}
	}
}

// Token budgets of the default tools/list, estimated as JSON bytes / 4
// (coretest.MeasureToolList).
// What a host puts before the model is each tool's name, description and
// input schema; the whole tools/list message is bounded too. Both are
// measured with the shipped defaults (aws.DefaultConfig).
const (
	modelTokenBudget = 5000
	wireTokenBudget  = 6000
)

// TestDefaultToolListTokenSize measures what the default tool list costs
// a model's context on every turn, and fails when it grows past budget.
func TestDefaultToolListTokenSize(t *testing.T) {
	awsEnv(t)
	fake := fakeaws.New(t)
	list := func(extra string) coretest.ToolListSize {
		yaml := string(aws.DefaultConfig) + "aws:\n  accounts:\n    dev: {regions: [eu-west-1], endpoints: " + fake.EndpointsYAML() + "}\n" + extra
		h := coretest.Start(t, coretest.Options{YAML: yaml, Modules: []fx.Option{aws.Module}})
		return coretest.MeasureToolList(t, h.Connect(t, nil))
	}
	def := list("")
	all := list("tools: {toolsets: [all], output_schemas: false}\n")
	t.Logf("default tools/list: %d tools; model-facing (name, description, input schema) %d bytes = about %d tokens; whole message %d bytes = about %d tokens; %v",
		def.Tools, def.Model, def.ModelTokens(), def.Wire, def.WireTokens(), def.Names)
	t.Logf("every toolset: %d tools; model-facing about %d tokens; whole message about %d tokens", all.Tools, all.ModelTokens(), all.WireTokens())
	if def.ModelTokens() > modelTokenBudget || def.WireTokens() > wireTokenBudget {
		t.Errorf("default tools/list is about %d tokens for the model (budget %d) and %d on the wire (budget %d)",
			def.ModelTokens(), modelTokenBudget, def.WireTokens(), wireTokenBudget)
	}
	if def.OutputSchemas != 0 {
		t.Errorf("%d default tools advertise an output schema, want none", def.OutputSchemas)
	}
}
