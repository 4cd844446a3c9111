package crm

import (
	"slices"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

// newCreateTool is core.NewTool for a create tool, whose input shares its
// field structs with the matching update tool: there every field is
// optional and may be null, here required names the fields a new record
// must have (oneOfRequired: at least one of them), and a field is its plain
// type, so the schema tells the model what a create needs before it calls.
func newCreateTool[In, Out any](spec core.ToolSpec, required, oneOfRequired []string, h core.ToolHandler[In, Out]) *core.ToolDef {
	schema, err := jsonschema.For[In](nil)
	if err != nil {
		return core.NewTool(spec, h) // reports the same inference error at start
	}
	for _, p := range schema.Properties {
		if len(p.Types) == 2 && slices.Contains(p.Types, "null") {
			p.Type = p.Types[slices.IndexFunc(p.Types, func(t string) bool { return t != "null" })]
			p.Types = nil
		}
	}
	for _, name := range required {
		if !slices.Contains(schema.Required, name) {
			schema.Required = append(schema.Required, name)
		}
	}
	for _, name := range oneOfRequired {
		schema.AnyOf = append(schema.AnyOf, &jsonschema.Schema{Required: []string{name}})
	}
	return core.NewToolWithInputSchema(spec, schema, h)
}
