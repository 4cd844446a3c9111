package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/jsonschema-go/jsonschema"
)

type fastNested struct {
	ID   int64  `json:"id"`
	Note string `json:"note,omitempty"`
}

type fastArgs struct {
	Name   string            `json:"name" jsonschema:"a name"`
	Count  int               `json:"count,omitempty"`
	Ratio  float64           `json:"ratio,omitempty"`
	On     bool              `json:"on,omitempty"`
	Tags   []string          `json:"tags,omitempty"`
	IDs    []int64           `json:"ids,omitempty"`
	Inner  *fastNested       `json:"inner,omitempty"`
	Items  []fastNested      `json:"items,omitempty"`
	Opt    *string           `json:"opt,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

func schemaOf[T any](t *testing.T, edit func(*jsonschema.Schema)) (*jsonschema.Schema, *jsonschema.Resolved) {
	t.Helper()
	s, err := structSchema[T]()
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(s)
	}
	r, err := s.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, r
}

// The fast check may only ever say "valid" where jsonschema-go does: every
// argument object it accepts, hand-written edge cases and thousands of
// random ones, must pass jsonschema-go too. And it must say so for plain
// valid arguments, or it saves nothing.
func TestFastSchemaNeverAcceptsWhatJSONSchemaRefuses(t *testing.T) {
	two, ten, lo, hi := 2, 10, -1.5, 100.0
	schemas := map[string]*jsonschema.Schema{}
	resolved := map[string]*jsonschema.Resolved{}
	add := func(name string, s *jsonschema.Schema, r *jsonschema.Resolved) { schemas[name], resolved[name] = s, r }
	s, r := schemaOf[fastArgs](t, nil)
	add("fastArgs", s, r)
	s, r = schemaOf[fastArgs](t, func(s *jsonschema.Schema) {
		s.Properties["name"].Enum = []any{"ab", "cd", "éé"}
		s.Properties["name"].MinLength, s.Properties["name"].MaxLength = &two, &ten
		s.Properties["count"].Minimum, s.Properties["count"].Maximum = &lo, &hi
		s.Properties["tags"].MinItems, s.Properties["tags"].MaxItems = &two, &two
		s.Required = append(s.Required, "count", "undeclared")
		s.AdditionalProperties = nil // an undeclared required property must be allowed
	})
	add("constrained", s, r)
	s, r = schemaOf[fastArgs](t, func(s *jsonschema.Schema) {
		s.AdditionalProperties = nil
		s.Properties["name"].MinLength = &two
	})
	add("open", s, r)

	fixed := []string{`{}`, `{"name":"a"}`, `{"name":"ab","count":3}`, `{"name":"é"}`, `{"name":"\u00e9"}`, `{"name":"x","count":1.0}`,
		`{"name":"x","count":1e2}`, `{"name":"x","count":-0}`, `{"name":"x","count":1.5}`, `{"name":"x","count":101}`,
		`{"name":"x","ratio":3}`, `{"name":"x","ratio":"3"}`, `{"name":"x","on":null}`, `{"name":"x","tags":["a","b"]}`,
		`{"name":"x","tags":["a",1]}`, `{"name":"x","tags":[]}`, `{"name":"x","ids":[1,2.5]}`, `{"name":"x","inner":{"id":1}}`,
		`{"name":"x","inner":{}}`, `{"name":"x","inner":{"id":1,"extra":2}}`, `{"name":"x","items":[{"id":1},{"id":"2"}]}`,
		`{"name":"x","name":"y"}`, `{"name":"x","Name":"y"}`, `{"nam\u0065":"x"}`, `{"name":"x","opt":null}`, `{"name":"x","labels":{"a":"b"}}`,
		`{"name":"x","labels":{"a":1}}`, `{"name":"x","undeclared":1}`, `{"name":"ab","count":3,"undeclared":true}`,
		`{"name":"x","inner":{"id":9007199254740993}}`, `{"name":"x","count":12345678901234567890}`, `{ "name" : "ab" , "count" : 2 }`}
	rng := rand.New(rand.NewPCG(1, 2))
	var corpus []string
	corpus = append(corpus, fixed...)
	for range 4000 {
		corpus = append(corpus, randomArgs(rng))
	}
	for name, s := range schemas {
		fast := compileFast(s)
		if fast == nil {
			t.Fatalf("%s: no fast check for a schema of the common shape", name)
		}
		accepted := 0
		for _, args := range corpus {
			if !fast.valid([]byte(args)) {
				continue
			}
			accepted++
			var generic any
			if err := json.Unmarshal([]byte(args), &generic); err != nil {
				t.Fatalf("%s: %s: %v", name, args, err)
			}
			if err := resolved[name].Validate(generic); err != nil {
				t.Errorf("%s: fast check accepted %s, which jsonschema-go refuses: %v", name, args, err)
			}
		}
		if accepted < 20 {
			t.Errorf("%s: fast check accepted only %d of %d argument objects", name, accepted, len(corpus))
		}
		t.Logf("%s: fast check accepted %d of %d", name, accepted, len(corpus))
	}
	if !compileFast(schemas["fastArgs"]).valid([]byte(`{"name":"x","count":2,"tags":["a"],"inner":{"id":1}}`)) {
		t.Error("plain valid arguments are not accepted")
	}
}

// Schemas using keywords outside the fast check's shape get none.
func TestFastSchemaRefusesWhatItDoesNotKnow(t *testing.T) {
	pattern := &jsonschema.Schema{Type: "object", Properties: map[string]*jsonschema.Schema{"a": {Type: "string", Pattern: "^x"}}}
	anyOf := &jsonschema.Schema{Type: "object", AnyOf: []*jsonschema.Schema{{Required: []string{"a"}}}}
	numEnum := &jsonschema.Schema{Type: "object", Properties: map[string]*jsonschema.Schema{"a": {Enum: []any{1.0}}}}
	ref := &jsonschema.Schema{Type: "object", Properties: map[string]*jsonschema.Schema{"a": {Ref: "#"}}}
	for name, s := range map[string]*jsonschema.Schema{"pattern": pattern, "anyOf": anyOf, "number enum": numEnum, "ref": ref} {
		if compileFast(s) != nil {
			t.Errorf("%s: got a fast check", name)
		}
	}
}

// randomArgs makes an argument object from the names and values the
// schemas above care about, well-formed JSON every time, valid often.
func randomArgs(rng *rand.Rand) string {
	fitting := map[string][]string{
		"name":       {`"ab"`, `"cd"`, `"éé"`, `"a"`, `"\u00e9\u00e9"`, `"abcdefghijkl"`},
		"count":      {`0`, `3`, `-1`, `100`, `101`, `1.0`, `1e1`, `-2`},
		"ratio":      {`0.5`, `3`, `-1e3`},
		"on":         {`true`, `false`},
		"tags":       {`["a","b"]`, `["a"]`, `[]`, `null`, `["a",1]`},
		"ids":        {`[1,2]`, `[1.5]`, `[]`, `null`},
		"inner":      {`{"id":1}`, `{"id":1,"note":"n"}`, `{}`, `{"id":"1"}`, `null`, `{"id":1,"x":2}`},
		"items":      {`[{"id":1}]`, `[{"id":1},{"id":2,"note":"x"}]`, `[{}]`, `null`},
		"opt":        {`"x"`, `null`, `1`},
		"labels":     {`{"a":"b"}`, `{}`, `{"a":1}`},
		"undeclared": {`1`, `"x"`},
		"Name":       {`"x"`},
	}
	keys := []string{"name", "count", "ratio", "on", "tags", "ids", "inner", "items", "opt", "labels", "undeclared", "Name"}
	var parts []string
	for _, k := range keys {
		if rng.IntN(10) >= 4 && !(k == "name" && rng.IntN(10) < 8) {
			continue
		}
		v := randomValue(rng, 2)
		if rng.IntN(10) < 8 {
			v = fitting[k][rng.IntN(len(fitting[k]))]
		}
		parts = append(parts, fmt.Sprintf("%q:%s", k, v))
		if rng.IntN(40) == 0 {
			parts = append(parts, fmt.Sprintf("%q:%s", k, v)) // a repeated key
		}
	}
	rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	return "{" + strings.Join(parts, ",") + "}"
}

func randomValue(rng *rand.Rand, depth int) string {
	scalars := []string{`"a"`, `"b"`, `"ab"`, `"é"`, `"\u0061"`, `""`, `"abcdefghijkl"`, `0`, `1`, `-1`, `2`, `1.0`, `1.5`, `1e2`, `-1.5`, `-2`,
		`100`, `101`, `true`, `false`, `null`}
	if depth <= 0 || rng.IntN(3) != 0 {
		return scalars[rng.IntN(len(scalars))]
	}
	if rng.IntN(2) == 0 {
		var parts []string
		for range rng.IntN(4) {
			parts = append(parts, randomValue(rng, depth-1))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	var parts []string
	for range rng.IntN(3) {
		k := []string{"id", "note", "x", "a"}[rng.IntN(4)]
		parts = append(parts, fmt.Sprintf("%q:%s", k, randomValue(rng, depth-1)))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// FuzzFastSchema: on any well-formed argument object the fast check
// neither panics nor accepts what jsonschema-go refuses.
func FuzzFastSchema(f *testing.F) {
	s, err := structSchema[fastArgs]()
	if err != nil {
		f.Fatal(err)
	}
	resolved, err := s.Resolve(nil)
	if err != nil {
		f.Fatal(err)
	}
	fast := compileFast(s)
	for _, seed := range []string{`{"name":"a"}`, `{"name":"x","tags":["a"],"inner":{"id":1}}`, `{"name":"x","count":1e2}`, `{}`, `{"labels":{"a":"b"},"name":""}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, args []byte) {
		var generic any
		if !utf8.Valid(args) || json.Unmarshal(args, &generic) != nil {
			return // ParseGuard refuses these first
		}
		if !fast.valid(bytes.TrimSpace(args)) {
			return
		}
		if err := resolved.Validate(generic); err != nil {
			t.Errorf("fast check accepted %s, which jsonschema-go refuses: %v", args, err)
		}
	})
}
