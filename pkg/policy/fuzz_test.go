package policy

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
)

// FuzzParse: any input is either refused with an error or yields a
// document that compiles and decides without panicking.
func FuzzParse(f *testing.F) {
	for _, path := range []string{"testdata/table.yaml", "testdata/server.yaml", "default.yaml"} {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"version: 1\ndefault: allow\n",
		"version: 1\ndefault: deny\nrules: [{id: a, effect: allow, condition: 'args.x > 1'}]\n",
		"version: 1\ndefault: deny\nroles: [{name: r, members: [{claims: {a: [b]}}]}]\n",
		"version: 1\ndefault: deny\nrate_limits: [{id: a, rate: 5/s, per: [role]}]\n",
		"version: 1\ndefault: deny\nredaction: {patterns: [{name: p, regex: 'x+'}]}\n",
		"{version: 1, default: deny, rules: [{id: x, effect: deny, tools: ['a*b?[cd]']}]}",
		"version: 1\ndefault: deny\nrules: *a\n",
		"- 1\n- 2\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data, "fuzz")
		if err != nil {
			if doc != nil {
				t.Fatal("document returned with an error")
			}
			return
		}
		eng, err := NewEngine(doc)
		if err != nil {
			t.Fatalf("parsed document does not compile: %v", err)
		}
		d := eng.Decide(Input{Principal: alice, Server: "github", Tool: deleteRepo, Args: json.RawMessage(`{"x":2}`)})
		if d.Rule == "" || d.Reason == "" {
			t.Fatalf("decision without rule or reason: %+v", d)
		}
		eng.Tool("github", listIssues).Visible(alice, time.Now())
	})
}

// FuzzCELInputs drives the decision-table policy's CEL conditions with
// arbitrary arguments, principals and times: no panic, the same input
// always gets the same decision, and arguments a deny condition cannot
// read fail closed.
func FuzzCELInputs(f *testing.F) {
	eng := loadEngine(f, "testdata/table.yaml")
	f.Add(`{"query":"x","limit":5}`, "alice", "maintainers", "sales", "partner-x", int64(0))
	f.Add(`{"limit":"many"}`, "mallory", "sre", "", "", int64(1e9))
	f.Add(`{"environment":"prod","ids":[1,2,3]}`, "carol", "sre", "eng", "", int64(-1))
	f.Add(`[1,2]`, "", "", "", "", int64(86400*365*100))
	f.Add(`{"limit":1e400}`, "x", "oncall", "", "", int64(3600*19))
	f.Add(`{"limit":{"nested":[{"deep":true}]}}`, "admin-1", "admins", "", "", int64(42))
	tools := []struct {
		server string
		spec   core.ToolSpec
	}{{"github", searchCode}, {"aws", terminateEC2}, {"crm", getContact}, {"ops", restartSvc}, {"vault", readSecret}}
	f.Fuzz(func(t *testing.T, args, subject, group, dept, client string, unix int64) {
		p := &authn.Principal{Subject: subject, Groups: []string{group}, ClientID: client, Method: authn.MethodJWT,
			Issuer: "https://idp.test", Claims: map[string]any{"department": dept}}
		at := time.Unix(unix%(1<<40), 0)
		for _, tl := range tools {
			in := Input{Principal: p, Server: tl.server, Tool: tl.spec, Args: json.RawMessage(args), Time: at}
			d1 := eng.Decide(in)
			d2 := eng.Decide(in)
			if !reflect.DeepEqual(d1, d2) {
				t.Fatalf("%s: nondeterministic: %+v vs %+v", tl.spec.Name, d1, d2)
			}
			if d1.Rule == "" || d1.Reason == "" {
				t.Fatalf("decision without rule or reason: %+v", d1)
			}
			eng.Tool(tl.server, tl.spec).Visible(p, at)
			eng.Explain(in)
		}
		// big-searches reads args.limit: arguments it cannot read deny.
		var m map[string]any
		empty := strings.TrimSpace(args) == "" || strings.TrimSpace(args) == "null" // no arguments: {}
		if !empty && json.Unmarshal([]byte(args), &m) != nil && subject != "mallory" {
			if d := eng.Decide(Input{Principal: p, Server: "github", Tool: searchCode, Args: json.RawMessage(args), Time: at}); d.Allowed {
				t.Fatalf("unreadable arguments %q allowed: %+v", args, d)
			}
		}
	})
}
