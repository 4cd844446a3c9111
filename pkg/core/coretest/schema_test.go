package coretest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

// badOut declares a string but encodes a number: its results break the
// tool's own output schema.
type badOut struct {
	Name string `json:"name" jsonschema:"a name"`
}

func (badOut) MarshalJSON() ([]byte, error) { return []byte(`{"name":5}`), nil }

type goodOut struct {
	Name string `json:"name" jsonschema:"a name"`
}

type none struct{}

// recorder keeps what the harness reports instead of failing the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func spec(name string) core.ToolSpec {
	return core.ToolSpec{Name: name, Title: name, Description: "A tool for the result check test.", Toolset: "demo",
		Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.No, Classification: core.Public, Permissions: core.NoPermissions}
}

func TestResultsAreCheckedAgainstTheOutputSchema(t *testing.T) {
	rec := &recorder{TB: t}
	h := coretest.Start(rec, coretest.Options{Modules: []fx.Option{
		core.AsToolset(core.Toolset{Name: "demo", Default: true}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(spec("bad"), func(context.Context, *core.Call, none) (badOut, error) { return badOut{}, nil })
		}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(spec("good"), func(context.Context, *core.Call, none) (goodOut, error) { return goodOut{Name: "x"}, nil })
		}),
	}})
	cs := h.Connect(t, nil)
	for _, name := range []string{"good", "bad"} {
		if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "tool bad") {
		t.Errorf("reported %q, want one mismatch for tool bad", rec.errs)
	}
}
