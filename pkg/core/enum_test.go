package core_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

// listIn declares its enums on the type.
type listIn struct {
	State  string   `json:"state,omitempty" jsonschema:"which items to list"`
	Labels []string `json:"labels,omitempty" jsonschema:"label filter"`
}

func (listIn) Enums() map[string][]string {
	return map[string][]string{"state": {"open", "closed"}, "labels": {"bug", "docs"}}
}

// badEnumIn names a property it does not have.
type badEnumIn struct {
	State string `json:"state"`
}

func (badEnumIn) Enums() map[string][]string { return map[string][]string{"sate": {"open"}} }

// numberEnumIn puts an enum on a number.
type numberEnumIn struct {
	Count int `json:"count"`
}

func (numberEnumIn) Enums() map[string][]string { return map[string][]string{"count": {"1"}} }

func TestEnumsDeclaredOnTheInputType(t *testing.T) {
	h := coretest.Start(t, coretest.Options{Modules: []fx.Option{
		core.AsToolset(core.Toolset{Name: "demo", Default: true}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(spec("list", "demo", core.ReadOnly), func(_ context.Context, _ *core.Call, in listIn) (greetOut, error) {
				return greetOut{Text: in.State + " " + strings.Join(in.Labels, ",")}, nil
			})
		}),
	}})
	cs := h.Connect(t, nil)
	tools, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	advertised, _ := json.Marshal(tools.Tools[0].InputSchema)
	for _, want := range []string{`"state":{"description":"which items to list","enum":["open","closed"],"type":"string"}`, `"items":{"enum":["bug","docs"],"type":"string"}`} {
		if !strings.Contains(string(advertised), want) {
			t.Errorf("advertised schema lacks %s: %s", want, advertised)
		}
	}
	if res := call(t, cs, "list", map[string]any{"state": "closed", "labels": []string{"docs"}}); res.IsError || text(res) != `{"text":"closed docs"}` {
		t.Errorf("valid call: %v %s", res.IsError, text(res))
	}
	for name, args := range map[string]map[string]any{
		"bad value": {"state": "merged"},
		"bad item":  {"labels": []string{"bug", "wontfix"}},
		"not text":  {"state": 1},
	} {
		res := call(t, cs, "list", args)
		if !res.IsError || !strings.Contains(text(res), "invalid arguments") {
			t.Errorf("%s: want an invalid-arguments tool error, got %v %s", name, res.IsError, text(res))
		}
	}
}

// A tool whose enums do not fit its input type stops the server at start,
// with an error that names the tool and the property; nothing panics.
func TestEnumsThatDoNotFitRefuseStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		tool func() *core.ToolDef
		want string
	}{
		{"unknown property", func() *core.ToolDef {
			return core.NewTool(spec("bad", "demo", core.ReadOnly), func(context.Context, *core.Call, badEnumIn) (greetOut, error) { return greetOut{}, nil })
		}, `enum for "sate", which is not a property`},
		{"not a string", func() *core.ToolDef {
			return core.NewTool(spec("bad", "demo", core.ReadOnly), func(context.Context, *core.Call, numberEnumIn) (greetOut, error) { return greetOut{}, nil })
		}, `enum for "count", which is not a string`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := coretest.New(coretest.Options{Modules: []fx.Option{
				core.AsToolset(core.Toolset{Name: "demo", Default: true}),
				core.AsTool(tc.tool),
			}})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"bad"`) {
				t.Fatalf("start = %v, want an error naming the tool and %s", err, tc.want)
			}
		})
	}
}
