package core

import (
	"encoding/json"
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"
)

// NewToolWithInputSchema is [NewTool] with a hand-written input schema, for
// the rare tool whose arguments need JSON Schema that Go types cannot express
// ($defs and $ref, $anchor, if/then/else, anyOf over required sets). The
// schema is advertised as written and compiled once; arguments are validated
// against it and then decoded into In, so In must accept every object the
// schema allows. Prefer NewTool: an inferred schema cannot drift from the type
// that decodes it.
func NewToolWithInputSchema[In, Out any](spec ToolSpec, input *jsonschema.Schema, h ToolHandler[In, Out]) *ToolDef {
	td := NewTool(spec, h)
	if td.err != nil {
		return td
	}
	fail := func(err error) *ToolDef {
		td.err = fmt.Errorf("tool %q: input schema: %w", spec.Name, err)
		return td
	}
	if input == nil {
		return fail(fmt.Errorf("schema is nil"))
	}
	if input.Type != "object" {
		return fail(fmt.Errorf("schema type is %q, not \"object\"", input.Type))
	}
	resolved, err := input.Resolve(&jsonschema.ResolveOptions{ValidateDefaults: true})
	if err != nil {
		return fail(err)
	}
	codec := &inputCodec[In]{schema: input, resolved: resolved, hasDefaults: schemaHasDefaults(input)}
	td.tool.InputSchema = input
	td.decode = func(raw json.RawMessage) (any, error) { return codec.decode(raw) }
	return td
}
