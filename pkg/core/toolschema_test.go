package core_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

// contactIn accepts every object contactSchema allows; the schema adds the
// rules a Go type cannot state.
type contactIn struct {
	Name  string `json:"name,omitempty"`
	Via   string `json:"via,omitempty"`
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
}

const contactSchema = `{
	"$schema": "https://json-schema.org/draft/2020-12/schema",
	"type": "object",
	"$defs": {"name": {"$anchor": "nameDef", "type": "string", "minLength": 1}},
	"properties": {
		"name": {"$ref": "#/$defs/name"},
		"via": {"enum": ["phone", "email"]},
		"phone": {"type": "string"},
		"email": {"type": "string"}
	},
	"if": {"properties": {"via": {"const": "phone"}}, "required": ["via"]},
	"then": {"required": ["phone"]},
	"else": {"required": ["email"]},
	"additionalProperties": false
}`

func TestNewToolWithInputSchema(t *testing.T) {
	var schema jsonschema.Schema
	if err := json.Unmarshal([]byte(contactSchema), &schema); err != nil {
		t.Fatal(err)
	}
	h := coretest.Start(t, coretest.Options{Modules: []fx.Option{
		core.AsToolset(core.Toolset{Name: "demo", Default: true}),
		core.AsTool(func() *core.ToolDef {
			return core.NewToolWithInputSchema(spec("contact", "demo", core.ReadOnly), &schema,
				func(_ context.Context, _ *core.Call, in contactIn) (greetOut, error) {
					return greetOut{Text: in.Name + " via " + in.Via}, nil
				})
		}),
	}})
	cs := h.Connect(t, nil)

	tools, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	advertised, _ := json.Marshal(tools.Tools[0].InputSchema)
	for _, want := range []string{`"$schema":"https://json-schema.org/draft/2020-12/schema"`, `"$defs"`, `"$anchor":"nameDef"`, `"if"`, `"additionalProperties":false`} {
		if !strings.Contains(string(advertised), want) {
			t.Errorf("advertised schema lacks %s: %s", want, advertised)
		}
	}

	res := call(t, cs, "contact", map[string]any{"name": "Ada", "via": "phone", "phone": "123"})
	if res.IsError || text(res) != `{"text":"Ada via phone"}` {
		t.Errorf("valid call: %v %s", res.IsError, text(res))
	}
	for name, args := range map[string]map[string]any{
		"then branch unmet": {"name": "Ada", "via": "phone"},
		"else branch unmet": {"name": "Ada"},
		"$ref target unmet": {"name": "", "email": "a@example.com"},
		"unknown key":       {"email": "a@example.com", "fax": "1"},
	} {
		if res := call(t, cs, "contact", args); !res.IsError || !strings.Contains(text(res), "invalid arguments") {
			t.Errorf("%s: want an invalid-arguments tool error, got %v %s", name, res.IsError, text(res))
		}
	}
}

func TestNewToolWithInputSchemaRefusesBadSchemas(t *testing.T) {
	for name, schema := range map[string]*jsonschema.Schema{
		"nil":        nil,
		"not object": {Type: "string"},
		"bad ref":    {Type: "object", Properties: map[string]*jsonschema.Schema{"x": {Ref: "#/$defs/missing"}}},
	} {
		td := core.NewToolWithInputSchema(spec("contact", "demo", core.ReadOnly), schema,
			func(context.Context, *core.Call, contactIn) (greetOut, error) { return greetOut{}, nil })
		_, err := core.NewCatalog(core.CatalogInput{ServerName: "test", Toolsets: []core.Toolset{{Name: "demo", Default: true}}, Tools: []*core.ToolDef{td}})
		if err == nil || !strings.Contains(err.Error(), "input schema") {
			t.Errorf("%s: want an input schema error, got %v", name, err)
		}
	}
}
