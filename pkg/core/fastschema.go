package core

import (
	"bytes"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/google/jsonschema-go/jsonschema"
)

// fastSchema checks tool arguments against the common shape of an input
// schema (objects of typed properties, required, closed objects, string
// enums, lengths and bounds, arrays of such) straight on the JSON bytes,
// without building the generic value jsonschema-go validates, which
// profiles showed as a fifth of a call's allocations.
//
// It is only ever a shortcut to "valid": it answers true only when the
// arguments certainly satisfy the schema, and false whenever it is unsure
// (a number written with a fraction or exponent against "integer", an
// escaped string against a length or enum, a repeated key), in which case
// jsonschema-go decides and words the error. A schema using any keyword
// outside the shape has no fastSchema at all.
type fastSchema struct {
	types      uint8 // jsonTypes accepted; 0 means any
	props      map[string]*fastSchema
	required   []string
	closed     bool        // additionalProperties: false
	extra      *fastSchema // additionalProperties: a schema
	enum       []string
	items      *fastSchema
	minLen     *int
	maxLen     *int
	minItems   *int
	maxItems   *int
	minimum    *float64
	maximum    *float64
	hasBounds  bool
	hasStrRule bool
}

const (
	tString uint8 = 1 << iota
	tNumber
	tInteger
	tBoolean
	tNull
	tObject
	tArray
)

var typeBits = map[string]uint8{"string": tString, "number": tNumber | tInteger, "integer": tInteger,
	"boolean": tBoolean, "null": tNull, "object": tObject, "array": tArray}

// fastKeywords are the schema fields compileFast understands; a schema
// with any other field set gets no fast check. Annotations (title,
// description, format, examples...) do not affect validation.
var fastKeywords = map[string]bool{
	"Title": true, "Description": true, "Default": true, "Deprecated": true, "ReadOnly": true, "WriteOnly": true,
	"Examples": true, "Comment": true, "Format": true, "Extra": true, "PropertyOrder": true,
	"Type": true, "Types": true, "Enum": true, "Minimum": true, "Maximum": true, "MinLength": true, "MaxLength": true,
	"Items": true, "MinItems": true, "MaxItems": true, "Required": true, "Properties": true, "AdditionalProperties": true,
}

// compileFast builds the fast check of s, or nil when s uses anything it
// does not understand.
func compileFast(s *jsonschema.Schema) *fastSchema {
	if s == nil {
		return nil
	}
	v := reflect.ValueOf(s).Elem()
	for i := range v.NumField() {
		if !v.Field(i).IsZero() && !fastKeywords[v.Type().Field(i).Name] {
			return nil
		}
	}
	f := &fastSchema{required: s.Required, minLen: s.MinLength, maxLen: s.MaxLength, minItems: s.MinItems,
		maxItems: s.MaxItems, minimum: s.Minimum, maximum: s.Maximum}
	f.hasBounds = s.Minimum != nil || s.Maximum != nil
	f.hasStrRule = s.MinLength != nil || s.MaxLength != nil
	types := s.Types
	if s.Type != "" {
		types = []string{s.Type}
	}
	for _, t := range types {
		bits, ok := typeBits[t]
		if !ok {
			return nil
		}
		f.types |= bits
	}
	for _, e := range s.Enum {
		str, ok := e.(string)
		if !ok {
			return nil
		}
		f.enum = append(f.enum, str)
	}
	if s.Enum != nil && len(f.enum) == 0 {
		return nil
	}
	if len(s.Properties) > 0 {
		f.props = make(map[string]*fastSchema, len(s.Properties))
		for name, ps := range s.Properties {
			if f.props[name] = compileFast(ps); f.props[name] == nil {
				return nil
			}
		}
	}
	switch ap := s.AdditionalProperties; {
	case ap == nil:
	case isFalseSchema(ap):
		f.closed = true
	case reflect.ValueOf(*ap).IsZero(): // true: anything
	default:
		if f.extra = compileFast(ap); f.extra == nil {
			return nil
		}
	}
	if s.Items != nil {
		if f.items = compileFast(s.Items); f.items == nil {
			return nil
		}
	}
	return f
}

// isFalseSchema recognises jsonschema-go's "false" ({"not": {}}).
func isFalseSchema(s *jsonschema.Schema) bool {
	if s.Not == nil || !reflect.ValueOf(*s.Not).IsZero() {
		return false
	}
	c := *s
	c.Not = nil
	return reflect.ValueOf(c).IsZero()
}

// valid reports whether the JSON value v certainly satisfies the schema.
func (f *fastSchema) valid(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	var got uint8
	switch c := v[0]; {
	case c == '"':
		got = tString
	case c == '{':
		got = tObject
	case c == '[':
		got = tArray
	case c == 't' || c == 'f':
		got = tBoolean
	case c == 'n':
		got = tNull
	case c == '-' || (c >= '0' && c <= '9'):
		got = tNumber
		if !bytes.ContainsAny(v, ".eE") {
			got |= tInteger
		}
	default:
		return false
	}
	if f.types != 0 {
		switch {
		case got&tInteger != 0:
			if f.types&tInteger == 0 {
				return false
			}
		case got == tNumber:
			// A number with a fraction or exponent may still be an
			// integer (1.0, 1e3); only "number" certainly takes it.
			if f.types&tNumber == 0 {
				return false
			}
		case f.types&got == 0:
			return false
		}
	}
	switch got {
	case tString:
		return f.validString(v)
	case tObject:
		return f.validObject(v)
	case tArray:
		return f.validArray(v)
	}
	if got&tNumber != 0 && f.hasBounds {
		n, err := strconv.ParseFloat(string(v), 64)
		if err != nil || (f.minimum != nil && n < *f.minimum) || (f.maximum != nil && n > *f.maximum) {
			return false
		}
	}
	return f.enum == nil // an enum of strings holds no other value
}

func (f *fastSchema) validString(v []byte) bool {
	if len(v) < 2 {
		return false
	}
	body := v[1 : len(v)-1]
	if f.enum == nil && !f.hasStrRule {
		return true
	}
	if bytes.IndexByte(body, '\\') >= 0 {
		return false // escapes: let jsonschema-go compare the decoded text
	}
	n := utf8.RuneCount(body)
	if (f.minLen != nil && n < *f.minLen) || (f.maxLen != nil && n > *f.maxLen) {
		return false
	}
	return f.enum == nil || slices.Contains(f.enum, string(body))
}

func (f *fastSchema) validObject(v []byte) bool {
	if f.enum != nil {
		return false
	}
	seen := 0
	ok := objectKeys(v, func(k, val []byte) bool {
		ps, declared := f.props[string(k)]
		switch {
		case declared:
			if f.isRequired(k) {
				seen++
			}
			return ps.valid(val)
		case f.closed:
			return false
		case f.extra != nil:
			return f.extra.valid(val)
		}
		return true
	})
	if !ok {
		return false
	}
	if seen == len(f.required) {
		return true
	}
	// A required property the schema does not declare still has to be there.
	for _, r := range f.required {
		if _, declared := f.props[r]; !declared && !hasKey(v, r) {
			return false
		}
	}
	return seen == f.countDeclaredRequired()
}

// isRequired reports whether property k is required (without turning k
// into a string: this runs for every property of every call).
func (f *fastSchema) isRequired(k []byte) bool {
	for _, r := range f.required {
		if r == string(k) {
			return true
		}
	}
	return false
}

func (f *fastSchema) countDeclaredRequired() int {
	n := 0
	for _, r := range f.required {
		if _, ok := f.props[r]; ok {
			n++
		}
	}
	return n
}

func hasKey(obj []byte, key string) bool {
	found := false
	objectKeys(obj, func(k, _ []byte) bool {
		found = found || string(k) == key
		return true
	})
	return found
}

func (f *fastSchema) validArray(v []byte) bool {
	if f.enum != nil {
		return false
	}
	n := 0
	i := skipSpace(v, 1)
	if i < len(v) && v[i] == ']' {
		return f.minItems == nil || *f.minItems <= 0
	}
	for i < len(v) {
		end := skipValue(v, i)
		if end <= i {
			return false
		}
		if f.items != nil && !f.items.valid(v[i:end]) {
			return false
		}
		n++
		i = skipSpace(v, end)
		if i >= len(v) {
			return false
		}
		if v[i] == ']' {
			return (f.minItems == nil || n >= *f.minItems) && (f.maxItems == nil || n <= *f.maxItems)
		}
		if v[i] != ',' {
			return false
		}
		i = skipSpace(v, i+1)
	}
	return false
}
