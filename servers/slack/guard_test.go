package slack_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/servers/slack"
	"github.com/mcpfleet/mcpfleet/servers/slack/internal/fakeslack"
)

// TestToolsGuard is core's guard test over every tool, with the schema
// snapshots in __toolsnaps__ (UPDATE_TOOLSNAPS=true refreshes them), and
// the metadata the policy module decides from.
func TestToolsGuard(t *testing.T) {
	s := startServer(t, setup{noConnect: true})
	coretest.CheckTools(t, s.harness.Catalog, "__toolsnaps__")
	writes := map[string]core.Effect{"post_message": core.Additive, "schedule_message": core.Additive, "add_reaction": core.Additive, "remove_reaction": core.Destructive}
	for _, td := range s.harness.Catalog.AllTools() {
		spec := td.Spec()
		if spec.OpenWorld != core.Yes {
			t.Errorf("%s: every Slack tool reaches Slack (open world)", spec.Name)
		}
		if want, ok := writes[spec.Name]; ok {
			if spec.Effect != want || spec.Toolset != "write" {
				t.Errorf("%s: effect %s in toolset %s, want %s in write", spec.Name, spec.Effect, spec.Toolset, want)
			}
		} else if spec.Effect != core.ReadOnly || spec.Idempotent != core.Yes {
			t.Errorf("%s: a read must be read-only and idempotent", spec.Name)
		}
		if len(spec.Permissions) == 0 && spec.Name != "get_workspace" {
			t.Errorf("%s: declares no Slack scope", spec.Name)
		}
		in, _ := json.Marshal(td.Tool().InputSchema)
		var schema struct {
			Properties map[string]any `json:"properties"`
		}
		_ = json.Unmarshal(in, &schema)
		if _, ok := schema.Properties["workspace"]; !ok {
			t.Errorf("%s: has no workspace argument", spec.Name)
		}
	}
	if n := len(s.harness.Catalog.AllTools()); n != 16 {
		t.Errorf("%d tools, want 16", n)
	}
}

// Token budgets of the default tools/list, estimated as JSON bytes / 4,
// measured like every server's (coretest.MeasureToolList).
const (
	modelTokenBudget = 3500
	wireTokenBudget  = 4500
)

// TestDefaultToolListTokenSize measures what the default tool list costs
// a model's context on every turn, and fails when it grows past budget.
// The write toolset is not in the default list.
func TestDefaultToolListTokenSize(t *testing.T) {
	fake := fakeslack.New(t, fakeslack.Options{})
	list := func(kv ...string) (coretest.ToolListSize, *mcp.ClientSession) {
		env := map[string]string{"MCPFLEET_SLACK_TOKEN": fakeslack.BotToken, "MCPFLEET_SLACK_API_URL": fake.URL(), "MCPFLEET_SLACK_CACHE_WARM_UP": "false"}
		for i := 0; i+1 < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		h := coretest.Start(t, coretest.Options{YAML: string(slack.DefaultConfig), Env: env, Modules: []fx.Option{slack.Module}})
		cs := h.Connect(t, nil)
		return coretest.MeasureToolList(t, cs), cs
	}
	def, cs := list()
	if res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_workspace", Arguments: map[string]any{}}); err != nil || res.IsError || res.StructuredContent == nil {
		t.Errorf("get_workspace with the shipped defaults: %v, %+v", err, res)
	}
	all, _ := list("MCPFLEET_TOOLS_TOOLSETS", "all")
	t.Logf("default tools/list: %d tools; model-facing (name, description, input schema) %d bytes = about %d tokens; whole message %d bytes = about %d tokens; %v",
		def.Tools, def.Model, def.ModelTokens(), def.Wire, def.WireTokens(), def.Names)
	t.Logf("every toolset: %d tools; model-facing about %d tokens; whole message about %d tokens", all.Tools, all.ModelTokens(), all.WireTokens())
	if slices.Contains(def.Names, "post_message") {
		t.Error("write tools are in the default list")
	}
	if def.ModelTokens() > modelTokenBudget || def.WireTokens() > wireTokenBudget {
		t.Errorf("default tools/list is about %d tokens for the model (budget %d) and %d on the wire (budget %d)", def.ModelTokens(), modelTokenBudget, def.WireTokens(), wireTokenBudget)
	}
}
