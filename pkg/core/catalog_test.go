package core_test

import (
	"context"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
)

type noInput struct{}
type okOutput struct {
	OK bool `json:"ok"`
}

// spec returns complete metadata; tests knock pieces out of it.
func spec(name, toolset string, effect core.Effect) core.ToolSpec {
	return core.ToolSpec{
		Name: name, Title: "Title of " + name, Description: "Does " + name + " for the test suite.",
		Toolset: toolset, Effect: effect, Idempotent: core.Yes, OpenWorld: core.No,
		Classification: core.Internal, Permissions: core.NoPermissions,
	}
}

func tool(s core.ToolSpec) *core.ToolDef {
	return core.NewTool(s, func(context.Context, *core.Call, noInput) (okOutput, error) { return okOutput{OK: true}, nil })
}

var testToolsets = []core.Toolset{
	{Name: "repos", Default: true},
	{Name: "issues", Default: true},
	{Name: "admin"},
}

func testTools() []*core.ToolDef {
	return []*core.ToolDef{
		tool(spec("list_repos", "repos", core.ReadOnly)),
		tool(spec("create_repo", "repos", core.Additive)),
		tool(spec("get_issue", "issues", core.ReadOnly)),
		tool(spec("delete_issue", "issues", core.Destructive)),
		tool(spec("audit_log", "admin", core.ReadOnly)),
		tool(spec("purge_org", "admin", core.Destructive)),
	}
}

func names(c *core.Catalog) string {
	var out []string
	for _, td := range c.Tools() {
		out = append(out, td.Spec().Name)
	}
	return strings.Join(out, ",")
}

func TestToolSelection(t *testing.T) {
	for _, tc := range []struct {
		name string
		sel  config.Tools
		want string
	}{
		{"defaults", config.Tools{}, "create_repo,delete_issue,get_issue,list_repos"},
		{"all", config.Tools{Toolsets: []string{"all"}}, "audit_log,create_repo,delete_issue,get_issue,list_repos,purge_org"},
		{"named", config.Tools{Toolsets: []string{"admin"}}, "audit_log,purge_org"},
		{"disable toolset", config.Tools{Toolsets: []string{"all"}, DisabledToolsets: []string{"issues"}}, "audit_log,create_repo,list_repos,purge_org"},
		{"single tools", config.Tools{Enabled: []string{"audit_log"}, Disabled: []string{"create_repo"}}, "audit_log,delete_issue,get_issue,list_repos"},
		{"read-only wins over enabled", config.Tools{Toolsets: []string{"all"}, Enabled: []string{"purge_org"}, ReadOnly: true}, "audit_log,get_issue,list_repos"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := core.NewCatalog(core.CatalogInput{ServerName: "github", Selection: tc.sel, Toolsets: testToolsets, Tools: testTools()})
			if err != nil {
				t.Fatal(err)
			}
			if got := names(c); got != tc.want {
				t.Errorf("selected %s, want %s", got, tc.want)
			}
			if len(c.AllTools()) != 6 {
				t.Errorf("AllTools lost tools")
			}
		})
	}
}

func TestUnknownSelectionListsValidNames(t *testing.T) {
	_, err := core.NewCatalog(core.CatalogInput{ServerName: "github", Toolsets: testToolsets, Tools: testTools(),
		Selection: config.Tools{Toolsets: []string{"repo"}, Disabled: []string{"delete_isue"}}})
	if err == nil {
		t.Fatal("unknown names accepted")
	}
	msg := err.Error()
	for _, want := range []string{`unknown toolset "repo"`, "valid: all, admin, issues, repos", `unknown tool "delete_isue"`, "get_issue"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
}

func TestCatalogRefusesBadTools(t *testing.T) {
	type badIn struct {
		Ch chan int `json:"ch"`
	}
	missing := spec("incomplete", "repos", core.ReadOnly)
	missing.Title, missing.Idempotent, missing.Permissions, missing.Classification = "", 0, nil, "secret"
	cases := []struct {
		name  string
		tools []*core.ToolDef
		want  []string
	}{
		{"duplicate", []*core.ToolDef{tool(spec("dup", "repos", core.ReadOnly)), tool(spec("dup", "repos", core.ReadOnly))}, []string{`tool "dup" is provided twice`}},
		{"missing metadata", []*core.ToolDef{tool(missing)}, []string{"title is empty", "idempotent hint", "permissions", "classification"}},
		{"unset effect", []*core.ToolDef{tool(spec("no_effect", "repos", 0))}, []string{"effect"}},
		{"camel case", []*core.ToolDef{tool(spec("listRepos", "repos", core.ReadOnly))}, []string{"not snake_case"}},
		{"too long for host prefix", []*core.ToolDef{tool(spec(strings.Repeat("x", 52), "repos", core.ReadOnly))}, []string{"limit is 51"}},
		{"undeclared toolset", []*core.ToolDef{tool(spec("orphan", "gists", core.ReadOnly))}, []string{`toolset "gists" is not declared`}},
		{"bad input type", []*core.ToolDef{core.NewTool(spec("chan_tool", "repos", core.ReadOnly),
			func(context.Context, *core.Call, badIn) (okOutput, error) { return okOutput{}, nil })}, []string{"input schema"}},
		{"non-struct output", []*core.ToolDef{core.NewTool(spec("str_out", "repos", core.ReadOnly),
			func(context.Context, *core.Call, noInput) (string, error) { return "", nil })}, []string{"not a struct"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := core.NewCatalog(core.CatalogInput{ServerName: "github", Toolsets: testToolsets, Tools: tc.tools})
			if err == nil {
				t.Fatal("catalog accepted bad tools")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestMaxToolNameLen(t *testing.T) {
	// "mcp__github__" + name must fit in 64.
	if got := core.MaxToolNameLen("github"); got != 64-len("mcp__github__") {
		t.Errorf("MaxToolNameLen = %d", got)
	}
}

func TestCatalogRefusesBadResourcesAndPrompts(t *testing.T) {
	read := func(context.Context, *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) { return nil, nil }
	_, err := core.NewCatalog(core.CatalogInput{ServerName: "crm",
		Resources: []*core.ResourceDef{
			{Resource: &mcp.Resource{URI: "relative/path", Name: "x"}, Handler: read, Classification: core.Public},
			{Resource: &mcp.Resource{URI: "crm://a", Name: "a"}, Handler: read},
		},
		Templates: []*core.ResourceTemplateDef{{Template: &mcp.ResourceTemplate{URITemplate: "crm://contacts/{id}"}, Classification: core.Confidential}},
		Prompts:   []*core.PromptDef{{Prompt: &mcp.Prompt{Name: "brief"}}},
	})
	if err == nil {
		t.Fatal("bad resources accepted")
	}
	for _, want := range []string{`URI "relative/path" is not absolute`, `resource "crm://a": data classification "" is not declared`,
		`resource template "crm://contacts/{id}": name is empty; handler is nil`, `prompt "brief": description is empty; handler is nil`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestCatalogRefusesReservedToolNames: a tool cannot take a name that
// audit records of other methods used (read_resource).
func TestCatalogRefusesReservedToolNames(t *testing.T) {
	for _, name := range core.ReservedToolNames {
		_, err := core.NewCatalog(core.CatalogInput{ServerName: "crm", Toolsets: testToolsets,
			Tools: []*core.ToolDef{tool(spec(name, "repos", core.ReadOnly))}})
		if err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("tool %q: %v", name, err)
		}
	}
}

// TestCatalogRefusesBadPromptClassification: a prompt's classification,
// when declared, must be a real one.
func TestCatalogRefusesBadPromptClassification(t *testing.T) {
	get := func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) { return nil, nil }
	_, err := core.NewCatalog(core.CatalogInput{ServerName: "crm",
		Prompts: []*core.PromptDef{{Prompt: &mcp.Prompt{Name: "brief", Description: "d"}, Handler: get, Classification: "secret"}}})
	if err == nil || !strings.Contains(err.Error(), `"secret" is not valid`) {
		t.Errorf("bad classification: %v", err)
	}
}
