package github_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/servers/github"
	"github.com/mcpfleet/mcpfleet/servers/github/internal/fakegithub"
)

// TestToolsGuard is core's guard test over every tool, with the schema
// snapshots in __toolsnaps__ (UPDATE_TOOLSNAPS=true refreshes them), and
// the metadata the policy module decides from.
func TestToolsGuard(t *testing.T) {
	s := startServer(t, setup{noConnect: true})
	coretest.CheckTools(t, s.harness.Catalog, "__toolsnaps__")
	destructive := []string{"create_or_update_file", "push_files", "merge_pull_request", "mark_notifications_read"}
	for _, td := range s.harness.Catalog.AllTools() {
		spec := td.Spec()
		if spec.OpenWorld != core.Yes {
			t.Errorf("%s: every GitHub tool reaches GitHub (open world)", spec.Name)
		}
		if want := slices.Contains(destructive, spec.Name); spec.DestructiveHint() != want {
			t.Errorf("%s: destructive = %v, want %v (overwrites, merges and irreversible state changes are destructive)", spec.Name, spec.DestructiveHint(), want)
		}
		want := core.Internal
		if spec.Toolset == "code_security" {
			want = core.Confidential
		}
		if spec.Classification != want {
			t.Errorf("%s: classification %s, want %s", spec.Name, spec.Classification, want)
		}
		if len(spec.Permissions) == 0 && spec.Name != "get_me" {
			t.Errorf("%s: declares no upstream permission", spec.Name)
		}
		if spec.Effect == core.ReadOnly && spec.Idempotent != core.Yes {
			t.Errorf("%s: a read is idempotent", spec.Name)
		}
		in, _ := json.Marshal(td.Tool().InputSchema)
		var schema struct {
			Properties map[string]any `json:"properties"`
		}
		_ = json.Unmarshal(in, &schema)
		if _, ok := schema.Properties["connection"]; !ok {
			t.Errorf("%s: has no connection argument", spec.Name)
		}
	}
	for _, rt := range s.harness.Catalog.ResourceTemplates() {
		if rt.Classification != core.Internal {
			t.Errorf("resource template %s is %s", rt.Template.URITemplate, rt.Classification)
		}
	}
}

// Token budgets of the default tools/list, estimated as JSON bytes / 4
// (coretest.MeasureToolList). What a host puts in the model's context is
// each tool's name, description and input schema (Claude's and OpenAI's
// tool formats have no output schema); the whole tools/list message,
// annotations included, is bounded too. Both are measured with the shipped defaults
// (github.DefaultConfig), which leave output schemas out of the list.
const (
	modelTokenBudget = 6000
	wireTokenBudget  = 7000
)

// TestDefaultToolListTokenSize measures what the default tool list costs
// a model's context on every turn, and fails when it grows past budget.
func TestDefaultToolListTokenSize(t *testing.T) {
	fake := fakegithub.New(t, fakegithub.Options{})
	// The shipped defaults, as mcp-github runs with a token from the
	// environment, plus env overrides.
	var cs *mcp.ClientSession
	list := func(kv ...string) coretest.ToolListSize {
		env := map[string]string{"MCPFLEET_GITHUB_TOKEN": fakegithub.Token, "MCPFLEET_GITHUB_BASE_URL": fake.URL()}
		for i := 0; i+1 < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		h := coretest.Start(t, coretest.Options{YAML: string(github.DefaultConfig), Env: env, Modules: []fx.Option{github.Module}})
		cs = h.Connect(t, nil)
		return coretest.MeasureToolList(t, cs)
	}
	def := list()
	// Without output schemas, results still carry structured content.
	if res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_me", Arguments: map[string]any{}}); err != nil || res.IsError || res.StructuredContent == nil {
		t.Errorf("get_me with the shipped defaults: %v, %+v", err, res)
	}
	all := list("MCPFLEET_TOOLS_TOOLSETS", "all")
	withSchemas := list("MCPFLEET_TOOLS_OUTPUT_SCHEMAS", "true")
	t.Logf("default tools/list: %d tools; model-facing (name, description, input schema) %d bytes = about %d tokens; whole message %d bytes = about %d tokens (%d with output schemas); %v",
		def.Tools, def.Model, def.ModelTokens(), def.Wire, def.WireTokens(), withSchemas.WireTokens(), def.Names)
	t.Logf("every toolset: %d tools; model-facing about %d tokens; whole message about %d tokens", all.Tools, all.ModelTokens(), all.WireTokens())
	if def.ModelTokens() > modelTokenBudget || def.WireTokens() > wireTokenBudget {
		t.Errorf("default tools/list is about %d tokens for the model (budget %d) and %d on the wire (budget %d): consolidate tools or shorten descriptions",
			def.ModelTokens(), modelTokenBudget, def.WireTokens(), wireTokenBudget)
	}
	if def.OutputSchemas != 0 || withSchemas.OutputSchemas != withSchemas.Tools || def.Tools != withSchemas.Tools {
		t.Errorf("output schemas: %d of %d tools by default (want none), %d of %d with tools.output_schemas: true (want all)",
			def.OutputSchemas, def.Tools, withSchemas.OutputSchemas, withSchemas.Tools)
	}
}
