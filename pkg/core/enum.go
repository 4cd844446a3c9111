package core

import (
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/google/jsonschema-go/jsonschema"
)

// Enumerated is implemented by a tool input type whose string properties
// accept only listed values, which struct tags cannot express. Enums maps a
// property's JSON name to its values; for a list of strings the values
// constrain the items. Core adds them to the inferred input schema as
// "enum", so clients see the valid values, and schema validation refuses
// anything else before the handler runs, as an invalid-arguments tool error
// like every other input problem. A name that is not a string or
// string-list property of the type is a tool definition error: the server
// refuses to start and says which.
//
//	func (ListIssuesIn) Enums() map[string][]string {
//		return map[string][]string{"state": {"open", "closed", "all"}}
//	}
type Enumerated interface {
	Enums() map[string][]string
}

// applyEnums adds In's declared enums (if In, or *In, is [Enumerated]) to
// its inferred schema.
func applyEnums[In any](schema *jsonschema.Schema) error {
	var in In
	e, ok := any(in).(Enumerated)
	if !ok {
		if e, ok = any(&in).(Enumerated); !ok {
			return nil
		}
	}
	if rv := reflect.ValueOf(e); rv.Kind() == reflect.Pointer && rv.IsNil() {
		// In is itself a pointer type: ask its zero element.
		e, _ = reflect.New(rv.Type().Elem()).Interface().(Enumerated)
	}
	enums := e.Enums()
	for _, name := range slices.Sorted(maps.Keys(enums)) {
		p := schema.Properties[name]
		if p == nil {
			return fmt.Errorf("enum for %q, which is not a property of the input", name)
		}
		if (p.Type == "array" || slices.Contains(p.Types, "array")) && p.Items != nil {
			p = p.Items
		}
		if p.Type != "string" && !slices.Contains(p.Types, "string") {
			return fmt.Errorf("enum for %q, which is not a string or a list of strings", name)
		}
		values := enums[name]
		if len(values) == 0 {
			return fmt.Errorf("enum for %q lists no values", name)
		}
		p.Enum = p.Enum[:0]
		for _, v := range values {
			p.Enum = append(p.Enum, v)
		}
	}
	return nil
}
