package canon

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestJSON(t *testing.T) {
	a, err := JSON([]byte(`{"b": [1, 2.50, {"y": true, "x": null}], "a": "<tag>"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != `{"a":"<tag>","b":[1,2.50,{"x":null,"y":true}]}` {
		t.Errorf("got %s", a)
	}
	d1, _ := Digest([]byte(`{"a":1,"b":2}`), nil)
	d2, _ := Digest([]byte("{ \"b\":2,\n \"a\":1 }"), nil)
	d3, _ := Digest([]byte(`{"a":1,"b":3}`), nil)
	if d1 != d2 || d1 == d3 || !strings.HasPrefix(d1, "sha256:") {
		t.Errorf("digests %s %s %s", d1, d2, d3)
	}
	for _, empty := range []string{"", "null", "  "} {
		if c, _ := JSON([]byte(empty), nil); string(c) != "{}" {
			t.Errorf("%q: %s", empty, c)
		}
	}
	up, _ := JSON([]byte(`{"k":["x",{"n":"y"}]}`), strings.ToUpper)
	if string(up) != `{"k":["X",{"n":"Y"}]}` {
		t.Errorf("transform: %s", up)
	}
	for _, bad := range []string{"{", `{"a":1} {}`, "nul"} {
		if _, err := JSON([]byte(bad), nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestWithout(t *testing.T) {
	rest, v, ok, err := Without([]byte(`{"id":"1","confirmation_token":"t"}`), "confirmation_token")
	if err != nil || !ok || string(v) != `"t"` || string(rest) != `{"id":"1"}` {
		t.Fatalf("%s %s %v %v", rest, v, ok, err)
	}
	for _, in := range []string{`{"id":"1"}`, `[1]`, ``, `{"id":"confirmation_token"}`} {
		rest, _, ok, err := Without([]byte(in), "confirmation_token")
		if ok || err != nil || string(rest) != in {
			t.Errorf("%q: %s %v %v", in, rest, ok, err)
		}
	}
}

// FuzzJSON: the canonical form is valid JSON that means the same as the
// input, and canonicalising it again changes nothing.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[true,null,"x\"y"]}`, `[]`, `"s"`, `{"a":{"c":1,"b":2}}`, ` { "k" : -1.5e3 } `, `{"a":1,"a":2}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := JSON([]byte(s), nil)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("%q -> invalid %q", s, out)
		}
		// Values encoding/json can hold (not 1e700) must be unchanged.
		var a, b any
		if strings.TrimSpace(s) != "" && strings.TrimSpace(s) != "null" && json.Unmarshal([]byte(s), &a) == nil {
			if err := json.Unmarshal(out, &b); err != nil || !reflect.DeepEqual(a, b) {
				t.Fatalf("%q -> %q changes the value", s, out)
			}
		}
		again, err := JSON(out, nil)
		if err != nil || string(again) != string(out) {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, out, again)
		}
	})
}
