package policy

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
)

func tool(name, toolset string, eff core.Effect, class core.Classification) core.ToolSpec {
	return core.ToolSpec{Name: name, Title: name, Description: name, Toolset: toolset, Effect: eff,
		Idempotent: core.No, OpenWorld: core.No, Classification: class, Permissions: core.NoPermissions}
}

var (
	listIssues   = tool("list_issues", "issues", core.ReadOnly, core.Internal)
	createIssue  = tool("create_issue", "issues", core.Additive, core.Internal)
	deleteRepo   = tool("delete_repo", "repos", core.Destructive, core.Internal)
	searchCode   = tool("search_code", "code", core.ReadOnly, core.Internal)
	getContact   = tool("get_contact", "contacts", core.ReadOnly, core.Confidential)
	exportAll    = tool("export_contacts", "contacts", core.ReadOnly, core.Restricted)
	describeEC2  = tool("describe_instances", "ec2", core.ReadOnly, core.Internal)
	startEC2     = tool("start_instances", "ec2", core.Additive, core.Internal)
	terminateEC2 = tool("terminate_instances", "ec2", core.Destructive, core.Internal)
	postMessage  = tool("post_message", "chat", core.Additive, core.Internal)
	readSecret   = tool("read_secret", "secrets", core.ReadOnly, core.Restricted)
	restartSvc   = func() core.ToolSpec {
		s := tool("restart_service", "ops", core.Additive, core.Internal)
		s.Idempotent, s.OpenWorld = core.Yes, core.Yes
		return s
	}()
)

func jwtUser(sub string, groups ...string) *authn.Principal {
	return &authn.Principal{Subject: sub, Issuer: "https://other.test", Groups: groups, Method: authn.MethodJWT}
}

var (
	alice   = jwtUser("alice", "maintainers")
	bob     = &authn.Principal{Subject: "bob", Method: authn.MethodJWT, Claims: map[string]any{"department": "sales"}}
	carol   = jwtUser("carol", "sre")
	deploy  = &authn.Principal{Subject: "deploy-bot", Method: authn.MethodAPIKey}
	mallory = jwtUser("mallory", "maintainers")
	partner = &authn.Principal{Subject: "p1", ClientID: "partner-acme", Method: authn.MethodJWT}
	admin   = &authn.Principal{Subject: "admin-1", Issuer: "https://idp.test", Method: authn.MethodJWT}
	fakeAdm = &authn.Principal{Subject: "admin-2", Issuer: "https://evil.test", Method: authn.MethodJWT}
	writer  = &authn.Principal{Subject: "w", Scopes: []string{"mcp:read", "mcp:write"}, Method: authn.MethodJWT}
	oncall  = jwtUser("olga", "oncall")
	oncallK = &authn.Principal{Subject: "olga-key", Groups: []string{"oncall"}, Method: authn.MethodAPIKey}
)

var (
	noon  = time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	night = time.Date(2025, 1, 15, 22, 0, 0, 0, time.UTC)
)

func loadEngine(t testing.TB, path string) *Engine {
	t.Helper()
	doc, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := NewEngine(doc)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// TestDecisionTable covers every rule kind: role matchers (any, groups,
// api_keys, claims, client_ids, subjects+methods+issuers, scopes, CEL),
// rule targets (servers, toolsets, tool patterns, each annotation,
// classifications), CEL conditions over principal, tool, args and time,
// deny overriding allow, the default, approvals and redaction.
func TestDecisionTable(t *testing.T) {
	eng := loadEngine(t, "testdata/table.yaml")
	cases := []struct {
		name      string
		p         *authn.Principal
		server    string
		tool      core.ToolSpec
		args      string
		at        time.Time
		allowed   bool
		rule      string
		approval  string
		redact    bool
		reasonHas string
	}{
		{name: "everyone reads internal read-only", p: alice, server: "github", tool: listIssues, allowed: true, rule: "everyone-reads"},
		{name: "maintainer writes on github", p: alice, server: "github", tool: createIssue, allowed: true, rule: "maintainers-github"},
		{name: "annotation destructive excludes maintainers: default deny", p: alice, server: "github", tool: deleteRepo, rule: RuleDefault, reasonHas: "default: deny"},
		{name: "server pattern: maintainers-github does not cover crm", p: alice, server: "crm", tool: createIssue, rule: RuleDefault},
		{name: "classification: everyone-reads excludes confidential", p: alice, server: "crm", tool: getContact, rule: RuleDefault},
		{name: "claims role and toolset", p: bob, server: "crm", tool: getContact, allowed: true, rule: "sales-crm"},
		{name: "restricted output for confidential clearance is redacted", p: bob, server: "crm", tool: exportAll, allowed: true, rule: "sales-crm", redact: true},
		{name: "default clearance plus everyone's internal: no redaction", p: partner, server: "github", tool: listIssues, at: noon, allowed: true, rule: "everyone-reads"},
		{name: "sre may terminate staging, destructive needs approval", p: carol, server: "aws", tool: terminateEC2, args: `{"environment":"staging","ids":["i-1"]}`,
			allowed: true, rule: "sre-aws", approval: RuleApproveDestructive},
		{name: "deny overrides allow: CEL on args", p: carol, server: "aws", tool: terminateEC2, args: `{"environment":"prod"}`,
			rule: "no-prod-deletes", reasonHas: "change management"},
		{name: "require_approval rule on aws mutations", p: carol, server: "aws", tool: startEC2, allowed: true, rule: "sre-aws", approval: "aws-mutations-approved"},
		{name: "read-only on aws: first allow rule, no approval", p: carol, server: "aws", tool: describeEC2, allowed: true, rule: "everyone-reads"},
		{name: "non-sre may not mutate aws", p: alice, server: "aws", tool: startEC2, rule: RuleDefault},
		{name: "api key identity maps to a role", p: deploy, server: "aws", tool: startEC2, allowed: true, rule: "sre-aws", approval: "aws-mutations-approved"},
		{name: "CEL on principal denies over every allow", p: mallory, server: "github", tool: listIssues, rule: "block-mallory", reasonHas: "suspended"},
		{name: "CEL on args: limit too high", p: alice, server: "github", tool: searchCode, args: `{"query":"x","limit":500}`, rule: "big-searches"},
		{name: "CEL on args: limit fine", p: alice, server: "github", tool: searchCode, args: `{"query":"x","limit":100}`, allowed: true, rule: "everyone-reads"},
		{name: "CEL on args: no limit", p: alice, server: "github", tool: searchCode, args: `{"query":"x"}`, allowed: true, rule: "everyone-reads"},
		{name: "CEL error in a deny rule fails closed", p: alice, server: "github", tool: searchCode, args: `{"limit":{"a":1}}`, rule: "big-searches", reasonHas: "denied to be safe"},
		{name: "CEL on time: partner at night", p: partner, server: "github", tool: listIssues, at: night, rule: "partner-hours"},
		{name: "scopes role", p: writer, server: "slack", tool: postMessage, allowed: true, rule: "writers-slack"},
		{name: "tool name pattern: only post_message", p: writer, server: "slack", tool: tool("delete_message", "chat", core.Additive, core.Internal), rule: RuleDefault},
		{name: "CEL role and idempotent+open_world annotations", p: oncall, server: "ops", tool: restartSvc, allowed: true, rule: "oncall-restart"},
		{name: "CEL role condition on method excludes api keys", p: oncallK, server: "ops", tool: restartSvc, rule: RuleDefault},
		{name: "annotation idempotent must match", p: oncall, server: "ops", tool: tool("restart_db", "ops", core.Additive, core.Internal), rule: RuleDefault},
		{name: "subjects+methods+issuers role", p: admin, server: "github", tool: deleteRepo, allowed: true, rule: "admins-all", approval: RuleApproveDestructive},
		{name: "wrong issuer gets no admin role", p: fakeAdm, server: "github", tool: deleteRepo, rule: RuleDefault},
		{name: "require_approval with CEL on tool metadata", p: admin, server: "vault", tool: readSecret, allowed: true, rule: "admins-all", approval: "confidential-needs-approval"},
		{name: "no principal", p: nil, server: "github", tool: listIssues, rule: RuleUnauthenticated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			at := c.at
			if at.IsZero() {
				at = noon
			}
			d := eng.Decide(Input{Principal: c.p, Server: c.server, Tool: c.tool, Args: json.RawMessage(c.args), Time: at})
			if d.Allowed != c.allowed || d.Rule != c.rule || d.Approval != c.approval || d.Redact != c.redact {
				t.Errorf("got allowed=%v rule=%q approval=%q redact=%v (%s); want allowed=%v rule=%q approval=%q redact=%v",
					d.Allowed, d.Rule, d.Approval, d.Redact, d.Reason, c.allowed, c.rule, c.approval, c.redact)
			}
			if d.Reason == "" {
				t.Error("decision has no reason")
			}
			if c.reasonHas != "" && !strings.Contains(d.Reason, c.reasonHas) {
				t.Errorf("reason %q does not contain %q", d.Reason, c.reasonHas)
			}
		})
	}
}

func TestDefaultAllowDocument(t *testing.T) {
	doc, err := Parse([]byte(`
version: 1
default: allow
roles: [{name: interns, members: [{groups: [interns]}]}]
rules:
  - {id: interns-read-only, effect: deny, roles: [interns], annotations: {read_only: false}}
approvals: {destructive: false}
`), "inline")
	if err != nil {
		t.Fatal(err)
	}
	eng, _ := NewEngine(doc)
	intern := jwtUser("ian", "interns")
	for _, c := range []struct {
		p       *authn.Principal
		tool    core.ToolSpec
		allowed bool
		rule    string
	}{
		{alice, deleteRepo, true, RuleDefault},
		{intern, listIssues, true, RuleDefault},
		{intern, createIssue, false, "interns-read-only"},
	} {
		d := eng.Decide(Input{Principal: c.p, Server: "github", Tool: c.tool})
		if d.Allowed != c.allowed || d.Rule != c.rule || d.Approval != "" {
			t.Errorf("%s %s: got %+v", c.p.Subject, c.tool.Name, d)
		}
	}
}

func TestEmbeddedDefault(t *testing.T) {
	eng, err := NewEngine(Default())
	if err != nil {
		t.Fatal(err)
	}
	d := eng.Decide(Input{Principal: authn.Anonymous(), Server: "x", Tool: exportAll})
	if !d.Allowed || d.Redact || d.Approval != "" {
		t.Errorf("read: %+v", d)
	}
	d = eng.Decide(Input{Principal: alice, Server: "x", Tool: deleteRepo})
	if !d.Allowed || d.Approval != RuleApproveDestructive {
		t.Errorf("destructive: %+v", d)
	}
	if d := eng.Decide(Input{Server: "x", Tool: listIssues}); d.Allowed {
		t.Errorf("no principal allowed: %+v", d)
	}
}

// TestVisibility is tools/list filtering: a tool is listed when some call
// could be allowed, hidden when a deny applies whatever the arguments.
func TestVisibility(t *testing.T) {
	eng := loadEngine(t, "testdata/table.yaml")
	cases := []struct {
		p        *authn.Principal
		server   string
		tool     core.ToolSpec
		at       time.Time
		visible  bool
		approval bool
	}{
		{alice, "github", listIssues, noon, true, false},
		{alice, "github", deleteRepo, noon, false, false},
		{alice, "aws", startEC2, noon, false, false},
		{alice, "github", searchCode, noon, true, false}, // denied only for some arguments
		{carol, "aws", terminateEC2, noon, true, true},   // no-prod-deletes depends on arguments
		{carol, "aws", startEC2, noon, true, true},
		{carol, "aws", describeEC2, noon, true, false},
		{mallory, "github", listIssues, noon, false, false}, // condition without args: evaluated
		{partner, "github", listIssues, night, false, false},
		{partner, "github", listIssues, noon, true, false},
		{admin, "vault", readSecret, noon, true, true},
		{nil, "github", listIssues, noon, false, false},
	}
	for _, c := range cases {
		v := eng.Tool(c.server, c.tool).Visible(c.p, c.at)
		if v.Visible != c.visible || v.Approval != c.approval {
			name := "(nil)"
			if c.p != nil {
				name = c.p.Subject
			}
			t.Errorf("%s %s/%s: got %+v, want visible=%v approval=%v", name, c.server, c.tool.Name, v, c.visible, c.approval)
		}
	}
}

func TestLimitBuckets(t *testing.T) {
	eng := loadEngine(t, "testdata/table.yaml")
	tp := eng.Tool("crm", getContact)
	d := tp.Decide(bob, nil, noon)
	checks := tp.Limits(nil, bob, d)
	var got []string
	for _, c := range checks {
		got = append(got, c.Bucket.String())
	}
	if len(checks) != 2 || checks[0].ID != "per-caller" || checks[0].Bucket.Principal != bob.ID() ||
		checks[1].ID != "sales-quota" || checks[1].Bucket.Role != "sales" || checks[1].Count != 1000 ||
		checks[1].Period != 24*time.Hour || checks[1].Burst != 1000 {
		t.Fatalf("buckets: %v %+v", got, checks)
	}
	// Another sales member shares the role bucket but not the caller bucket.
	bob2 := &authn.Principal{Subject: "bob2", Method: authn.MethodJWT, Claims: map[string]any{"department": []any{"x", "sales"}}}
	checks2 := tp.Limits(nil, bob2, tp.Decide(bob2, nil, noon))
	if len(checks2) != 2 || checks2[1].Bucket != checks[1].Bucket || checks2[0].Bucket == checks[0].Bucket {
		t.Fatalf("second member: %+v", checks2)
	}
}

func TestExplain(t *testing.T) {
	eng := loadEngine(t, "testdata/table.yaml")
	ex := eng.Explain(Input{Principal: carol, Server: "aws", Tool: terminateEC2, Args: json.RawMessage(`{"environment":"prod"}`), Time: noon})
	if ex.Result != "deny" || ex.Rule != "no-prod-deletes" || !slices.Contains(ex.Roles, "sre") {
		t.Fatalf("explanation: %+v", ex)
	}
	why := map[string]RuleTrace{}
	for _, r := range ex.Rules {
		why[r.ID] = r
	}
	if r := why["sre-aws"]; !r.Matched {
		t.Errorf("sre-aws: %+v", r)
	}
	if r := why["maintainers-github"]; r.Matched || !strings.Contains(r.Why, `server "aws"`) {
		t.Errorf("maintainers-github: %+v", r)
	}
	if r := why["no-prod-deletes"]; !r.Matched || r.Why != "condition is true" {
		t.Errorf("no-prod-deletes: %+v", r)
	}
	if r := why["sales-crm"]; r.Matched {
		t.Errorf("sales-crm: %+v", r)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"yaml syntax", "version: 1\ndefault: [", "yaml"},
		{"empty", "", "empty"},
		{"schema: missing default", "version: 1", "default"},
		{"schema: bad version", "version: 2\ndefault: deny", "version"},
		{"schema: unknown field", "version: 1\ndefault: deny\nrulez: []", "rulez"},
		{"schema: bad effect", "version: 1\ndefault: deny\nrules: [{id: a, effect: maybe}]", "effect"},
		{"unknown role", "version: 1\ndefault: deny\nrules: [{id: a, effect: allow, roles: [ghost]}]", `role "ghost" is not declared`},
		{"duplicate rule id", "version: 1\ndefault: deny\nrules: [{id: a, effect: allow}, {id: a, effect: deny}]", "id is used twice"},
		{"reserved id", "version: 1\ndefault: deny\nrules: [{id: default, effect: allow}]", "reserved"},
		{"CEL syntax", "version: 1\ndefault: deny\nrules: [{id: a, effect: allow, condition: 'args.x ==='}]", "condition"},
		{"CEL undeclared", "version: 1\ndefault: deny\nrules: [{id: a, effect: allow, condition: 'user.x == 1'}]", "undeclared"},
		{"CEL not boolean", "version: 1\ndefault: deny\nrules: [{id: a, effect: allow, condition: '1 + 2'}]", "boolean"},
		{"role condition on args", "version: 1\ndefault: deny\nroles: [{name: r, members: [{condition: 'args.x == 1'}]}]", "role conditions"},
		{"member matches nobody", "version: 1\ndefault: deny\nroles: [{name: r, members: [{any: false}]}]", "matches nobody"},
		{"bad glob", "version: 1\ndefault: deny\nrules: [{id: a, effect: allow, tools: ['[a-']}]", "pattern"},
		{"bad rate", "version: 1\ndefault: deny\nrate_limits: [{id: a, rate: 10/fortnight}]", "period"},
		{"bad regex", "version: 1\ndefault: deny\nredaction: {patterns: [{name: x, regex: '(a'}]}", "patterns[0]"},
		{"empty-matching regex", "version: 1\ndefault: deny\nredaction: {patterns: [{name: x, regex: 'a*'}]}", "empty string"},
		{"per twice", "version: 1\ndefault: deny\nrate_limits: [{id: a, rate: 1/s, per: [tool, tool]}]", "twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc), "case.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "case.yaml") {
				t.Errorf("error %q does not mention %q and the source", err, c.want)
			}
		})
	}
}

func TestHashIdentifiesContent(t *testing.T) {
	a, err := Parse([]byte("version: 1\ndefault: deny\n"), "a")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Parse([]byte("version: 1\ndefault: deny\n"), "b")
	c, _ := Parse([]byte("version: 1\ndefault: deny # changed\n"), "c")
	if a.Hash() != b.Hash() || a.Hash() == c.Hash() || !strings.HasPrefix(a.Hash(), "sha256:") || len(a.ShortHash()) != 12 {
		t.Errorf("hashes: %s %s %s", a.Hash(), b.Hash(), c.Hash())
	}
}

func TestSchemaIsValidJSON(t *testing.T) {
	var v map[string]any
	if err := json.Unmarshal(Schema(), &v); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("policy.schema.json")
	if err != nil || string(b) != string(Schema()) {
		t.Fatal("Schema() is not the embedded file")
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]time.Duration{"1/s": time.Second, "5/m": time.Minute, "7/h": time.Hour, "9/d": 24 * time.Hour,
		"3/7d": 7 * 24 * time.Hour, "100/30s": 30 * time.Second, "2/1h30m": 90 * time.Minute} {
		_, p, err := parseRate(in)
		if err != nil || p != want {
			t.Errorf("%s: %v %v", in, p, err)
		}
	}
	for _, bad := range []string{"0/s", "x/s", "1", "1/0s", "1/-5s", "1/xd"} {
		if _, _, err := parseRate(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestDefaultMatchesSchema: the built-in default skips the schema check at
// startup, so it is checked here.
func TestDefaultMatchesSchema(t *testing.T) {
	d, err := Parse(DefaultYAML(), "default.yaml")
	if err != nil {
		t.Fatalf("the built-in default fails the full check: %v", err)
	}
	if d.Hash() != Default().Hash() {
		t.Error("the default parsed two ways differs")
	}
}
