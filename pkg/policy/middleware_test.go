package policy

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

func toolNames(t *testing.T, cs *mcp.ClientSession) map[string]*mcp.Tool {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*mcp.Tool{}
	for _, tl := range res.Tools {
		out[tl.Name] = tl
	}
	return out
}

func hasProperty(tl *mcp.Tool, name string) bool {
	b, _ := json.Marshal(tl.InputSchema)
	var s struct {
		Properties map[string]any `json:"properties"`
	}
	json.Unmarshal(b, &s)
	_, ok := s.Properties[name]
	return ok
}

// TestToolsListFiltering: each caller sees only the tools it may call, and
// tools needing approval advertise the confirmation token.
func TestToolsListFiltering(t *testing.T) {
	user := startServer(t, serverOpts{subject: "ursula"})
	got := toolNames(t, user.h.Connect(t, nil))
	if len(got) != 2 || got["read_note"] == nil || got["get_customer"] == nil {
		t.Fatalf("user sees %v", slices.Collect(mapsKeys(got)))
	}
	if hasProperty(got["read_note"], ConfirmationTokenArg) {
		t.Error("read_note advertises a confirmation token")
	}

	admin := startServer(t, serverOpts{subject: "ada", groups: []string{"admins"}})
	got = toolNames(t, admin.h.Connect(t, nil))
	if len(got) != 4 {
		t.Fatalf("admin sees %v", slices.Collect(mapsKeys(got)))
	}
	if !hasProperty(got["delete_note"], ConfirmationTokenArg) || !hasProperty(got["delete_note"], "id") {
		t.Errorf("delete_note schema: %+v", got["delete_note"].InputSchema)
	}
	if hasProperty(got["add_note"], ConfirmationTokenArg) {
		t.Error("add_note advertises a confirmation token")
	}
	// The shared tool definition is unchanged.
	for _, td := range admin.h.Catalog.Tools() {
		if s := td.Tool().InputSchema.(*jsonschema.Schema); s.Properties[ConfirmationTokenArg] != nil {
			t.Errorf("%s: the catalog's schema was modified", td.Spec().Name)
		}
	}
}

func mapsKeys(m map[string]*mcp.Tool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestCallDecisions: denied calls are tool errors naming the rule and
// reason, allowed ones run, and every call is audited.
func TestCallDecisions(t *testing.T) {
	s := startServer(t, serverOpts{subject: "ada", groups: []string{"admins"}})
	cs := s.h.Connect(t, nil)
	res := call(t, cs, "add_note", map[string]any{"text": "hello"})
	if res.IsError {
		t.Fatalf("admin add_note: %s", text(res))
	}
	res = call(t, cs, "add_note", map[string]any{"text": "my secret is 42"})
	if !res.IsError || !strings.Contains(text(res), "notes must not hold secrets") || !strings.Contains(text(res), "no-secret-notes") {
		t.Fatalf("deny overrides allow: %s", text(res))
	}
	if meta, _ := res.Meta[MetaKey].(map[string]any); meta["rule"] != "no-secret-notes" || meta["decision"] != "deny" {
		t.Errorf("meta: %v", res.Meta)
	}
	if added, _ := s.notes.counts(); added != 1 {
		t.Fatalf("%d notes added", added)
	}
	_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "no_such_tool"})
	if err == nil || !strings.Contains(err.Error(), "unknown tool") {
		t.Fatalf("unknown tool: %v", err)
	}
	// Arguments the schema refuses are a tool error from the tool layer.
	res = call(t, cs, "read_note", map[string]any{"id": "1", "extra": true})
	if !res.IsError {
		t.Fatal("unknown argument accepted")
	}

	recs := s.records(t, 4)
	want := []struct{ tool, decision, rule, outcome string }{
		{"add_note", "allow", "admins-write", OutcomeOK},
		{"add_note", "deny", "no-secret-notes", OutcomeDenied},
		{"no_such_tool", "deny", RuleUnknownTool, OutcomeProtocolError},
		{"read_note", "allow", "users-read", OutcomeToolError},
	}
	for i, w := range want {
		r := recs[i]
		if r.Tool != w.tool || r.Decision != w.decision || r.Rule != w.rule || r.Outcome != w.outcome {
			t.Errorf("record %d: %+v; want %+v", i, r, w)
		}
		if r.Principal != "stdio:ada" || r.Server != "test" || r.Policy != s.enf.Document().Hash() ||
			r.Seq != int64(i+1) || !strings.HasPrefix(r.ArgsDigest, "sha256:") || r.Client != "coretest/test" ||
			!slices.Equal(r.Roles, []string{"users", "admins"}) {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	if recs[1].ArgsDigest == recs[0].ArgsDigest {
		t.Error("different arguments, same digest")
	}
	if rep, err := verifyFile(s.audit); err != nil || rep != nil {
		t.Fatalf("audit chain: %v %v", rep, err)
	}
	if n, _ := s.metricValue(t, "mcpfleet.policy.decisions", "decision=deny", "rule=no-secret-notes"); n != 1 {
		t.Errorf("deny metric: %d", n)
	}
	if n, _ := s.metricValue(t, "mcpfleet.policy.decisions", "decision=allow", "rule=admins-write"); n != 1 {
		t.Errorf("allow metric: %d", n)
	}
	if n, ok := s.metricValue(t, "mcpfleet.policy.info", "hash="+s.enf.Document().Hash(), "name=test-server"); n != 1 || !ok {
		t.Errorf("policy info metric: %d %v", n, ok)
	}
	if n, ok := s.metricValue(t, "mcpfleet.audit.dropped"); n != 0 || !ok {
		t.Errorf("audit dropped: %d %v", n, ok)
	}
}

// TestDeniedByDefault: a call no rule allows does not run and is
// audited. The tool is hidden from this caller, so the refusal is the one
// for a tool that does not exist: denials cannot enumerate hidden tools.
func TestDeniedByDefault(t *testing.T) {
	s := startServer(t, serverOpts{subject: "ursula"})
	cs := s.h.Connect(t, nil)
	_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "add_note", Arguments: map[string]any{"text": "hi"}})
	_, errNone := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "add_notf", Arguments: map[string]any{"text": "hi"}})
	if err == nil || errNone == nil || strings.ReplaceAll(err.Error(), "add_note", "X") != strings.ReplaceAll(errNone.Error(), "add_notf", "X") {
		t.Fatalf("hidden tool: %v; no such tool: %v", err, errNone)
	}
	if added, _ := s.notes.counts(); added != 0 {
		t.Fatal("a denied call ran")
	}
	r := s.records(t, 2)[0]
	if r.Decision != "deny" || r.Rule != RuleDefault || r.Outcome != OutcomeDenied || !slices.Equal(r.Roles, []string{"users"}) {
		t.Fatalf("%+v", r)
	}
}

// TestRedaction: results above the caller's clearance are masked in text
// and structured content; resources by their classification.
func TestRedaction(t *testing.T) {
	user := startServer(t, serverOpts{subject: "ursula"})
	cs := user.h.Connect(t, nil)
	res := call(t, cs, "get_customer", map[string]any{"id": "7"})
	if res.IsError {
		t.Fatal(text(res))
	}
	var out customerOut
	b, _ := json.Marshal(res.StructuredContent)
	json.Unmarshal(b, &out)
	if out.Name != "Ada 7" || out.Email != "[REDACTED:email]" || out.Phone != "[REDACTED:phone]" || out.Token != "[REDACTED:github_token]" {
		t.Errorf("structured: %+v", out)
	}
	if txt := text(res); strings.Contains(txt, "ada@example.com") || strings.Contains(txt, customerToken) || !strings.Contains(txt, "Ada 7") {
		t.Errorf("text: %s", txt)
	}
	rr, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "notes://customers/ada"})
	if err != nil || rr.Contents[0].Text != "Ada <[REDACTED:email]>" {
		t.Fatalf("confidential resource: %v %+v", err, rr)
	}
	rr, err = cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "notes://public/1"})
	if err != nil || rr.Contents[0].Text != "write to info@example.com" {
		t.Fatalf("public template resource: %v %+v", err, rr)
	}

	support := startServer(t, serverOpts{subject: "sam", groups: []string{"support"}})
	cs = support.h.Connect(t, nil)
	res = call(t, cs, "get_customer", map[string]any{"id": "7"})
	if !strings.Contains(text(res), "ada@example.com") || !strings.Contains(text(res), customerToken) {
		t.Errorf("cleared caller got a redacted result: %s", text(res))
	}
	rr, _ = cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "notes://customers/ada"})
	if rr.Contents[0].Text != "Ada <ada@example.com>" {
		t.Errorf("cleared caller, resource: %+v", rr.Contents[0])
	}
}

func TestStdoutSinkRefusedOnStdio(t *testing.T) {
	_, err := coretest.New(coretest.Options{
		YAML:    "policy:\n  audit:\n    sinks: [{type: stdout}]\n",
		Modules: []fxOption{toolsModule(&notes{}), Module},
	})
	if err == nil || !strings.Contains(err.Error(), "stdout carries the MCP protocol") {
		t.Fatalf("got %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	_, err := coretest.New(coretest.Options{
		YAML: "policy:\n  rate_limit: {backend: redis}\n  approval: {token_ttl: 0s, hmac_key: short}\n" +
			"  audit:\n    queue_size: 0\n    sinks: [{type: file, checkpoint_file: /tmp/x, checkpoint_key: short}, {type: postgres}, {type: syslog}]\n",
		Modules: []fxOption{toolsModule(&notes{}), Module},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"redis_url is required", "token_ttl", "hmac_key must be at least 32 bytes", "queue_size",
		"checkpoint_file needs a checkpoint_key", "a postgres sink needs dsn", `type "syslog"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
}

// TestResourceReadsAreGoverned: resources/read is decided for the resource
// (rules address it by URI) and every read, allowed or denied, is audited
// under its own method name.
func TestResourceReadsAreGoverned(t *testing.T) {
	path := writePolicy(t, `  - id: no-customer-resources
    effect: deny
    resources: ["notes://customers/*"]
    reason: customer records are read through get_customer
`)
	s := startServer(t, serverOpts{policyFile: path, subject: "ursula"})
	cs := s.h.Connect(t, nil)
	if _, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "notes://customers/ada"}); err == nil ||
		!strings.Contains(err.Error(), "not allowed") || !strings.Contains(err.Error(), "no-customer-resources") {
		t.Fatalf("denied read: %v", err)
	}
	rr, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "notes://public/1"})
	if err != nil || rr.Contents[0].Text != "write to info@example.com" {
		t.Fatalf("allowed read: %v %+v", err, rr)
	}
	recs := s.records(t, 2)
	if r := recs[0]; r.Method != "resources/read" || r.Tool != "notes://customers/ada" || r.Decision != "deny" || r.Rule != "no-customer-resources" || r.Outcome != OutcomeDenied {
		t.Errorf("denied read record: %+v", r)
	}
	if r := recs[1]; r.Method != "resources/read" || r.Tool != "notes://public/1" || r.Decision != "allow" || r.Rule != "users-read" || r.Outcome != OutcomeOK {
		t.Errorf("allowed read record: %+v", r)
	}

	// Under the default deny, a caller no rule allows reads nothing.
	deny := writeFileIn(t, "deny.yaml", "version: 1\ndefault: deny\n")
	s2 := startServer(t, serverOpts{policyFile: deny, subject: "ursula"})
	if _, err := s2.h.Connect(t, nil).ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "notes://public/1"}); err == nil ||
		!strings.Contains(err.Error(), "policy rule default") {
		t.Errorf("default deny: %v", err)
	}
}

func writeFileIn(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
