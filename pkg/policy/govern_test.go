package policy

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

const denyAll = "version: 1\ndefault: deny\n"

// TestPromptGetIsGoverned: under default deny with no role, prompts/get
// returns nothing (the prompt would embed a customer record) and is
// audited as prompts/get; prompts/list shows nothing. A caller that is
// allowed gets the prompt redacted to its clearance.
func TestPromptGetIsGoverned(t *testing.T) {
	s := startServer(t, serverOpts{policyFile: writeFileIn(t, "deny.yaml", denyAll), subject: "mallory"})
	cs := s.h.Connect(t, nil)
	ctx := context.Background()
	res, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "customer_brief", Arguments: map[string]string{"id": "ada"}})
	if err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("prompts/get under default deny: %v %+v", err, res)
	}
	// Whether the record exists or not, the answer is the same.
	_, err2 := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "customer_brief", Arguments: map[string]string{"id": "nobody"}})
	if err2 == nil || strings.Replace(err2.Error(), "nobody", "ada", 1) != strings.Replace(err.Error(), "nobody", "ada", 1) {
		t.Errorf("denied answers differ for a missing record: %v / %v", err, err2)
	}
	lp, err := cs.ListPrompts(ctx, nil)
	if err != nil || len(lp.Prompts) != 0 {
		t.Errorf("prompts/list under default deny: %v %+v", err, lp)
	}
	recs := s.records(t, 2)
	if r := recs[0]; r.Method != "prompts/get" || r.Tool != "customer_brief" || r.Decision != "deny" || r.Outcome != OutcomeDenied {
		t.Errorf("record: %+v", r)
	}

	u := startServer(t, serverOpts{subject: "ursula"})
	ucs := u.h.Connect(t, nil)
	got, err := ucs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "customer_brief", Arguments: map[string]string{"id": "ada"}})
	if err != nil {
		t.Fatal(err)
	}
	txt := got.Messages[0].Content.(*mcp.TextContent).Text
	if strings.Contains(txt, "ada@example.com") || !strings.Contains(txt, "Brief on Ada") {
		t.Errorf("prompt for a caller with internal clearance: %q", txt)
	}
	if lp, _ := ucs.ListPrompts(ctx, nil); lp == nil || len(lp.Prompts) != 1 {
		t.Errorf("prompts/list for users: %+v", lp)
	}
	if r := u.records(t, 1)[0]; r.Method != "prompts/get" || r.Decision != "allow" || r.Outcome != OutcomeOK {
		t.Errorf("allowed record: %+v", r)
	}
}

// TestRulesAddressPromptsAndResources: rules select prompts and resources
// by name or URI glob and by kind, and a tools: list never matches them.
func TestRulesAddressPromptsAndResources(t *testing.T) {
	path := writePolicy(t, `  - id: no-briefs
    effect: deny
    prompts: ["customer_*"]
  - id: not-tools
    effect: deny
    tools: ["notes*", "customer*"]
  - id: no-resources-for-users
    effect: deny
    kinds: [resource]
    roles: [users]
`)
	s := startServer(t, serverOpts{policyFile: path, subject: "ursula"})
	cs := s.h.Connect(t, nil)
	ctx := context.Background()
	if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "customer_brief", Arguments: map[string]string{"id": "ada"}}); err == nil ||
		!strings.Contains(err.Error(), "no-briefs") {
		t.Errorf("prompt rule: %v", err)
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "notes://public/1"}); err == nil ||
		!strings.Contains(err.Error(), "no-resources-for-users") {
		t.Errorf("kind rule: %v", err)
	}
	if lr, err := cs.ListResources(ctx, nil); err != nil || len(lr.Resources) != 0 {
		t.Errorf("resources/list: %v %+v", err, lr)
	}
	if lt, err := cs.ListResourceTemplates(ctx, nil); err != nil || len(lt.ResourceTemplates) != 0 {
		t.Errorf("resources/templates/list: %v %+v", err, lt)
	}
	if got := toolNames(t, cs); len(got) != 2 {
		t.Errorf("tools/list: %v", slices.Collect(mapsKeys(got)))
	}
}

// TestCompletionAndSubscriptionAreGoverned: completions and subscriptions
// over a resource or prompt the caller may not use are refused and
// audited; allowed ones are redacted to the caller's clearance.
func TestCompletionAndSubscriptionAreGoverned(t *testing.T) {
	path := writePolicy(t, `  - id: no-customers
    effect: deny
    resources: ["notes://customers/*"]
    prompts: [customer_brief]
`)
	s := startServer(t, serverOpts{policyFile: path, subject: "ursula"})
	cs := s.h.Connect(t, nil)
	ctx := context.Background()
	arg := mcp.CompleteParamsArgument{Name: "id", Value: "a"}
	if _, err := cs.Complete(ctx, &mcp.CompleteParams{Ref: &mcp.CompleteReference{Type: "ref/prompt", Name: "customer_brief"}, Argument: arg}); err == nil ||
		!strings.Contains(err.Error(), "no-customers") {
		t.Errorf("completion over a denied prompt: %v", err)
	}
	if _, err := cs.Complete(ctx, &mcp.CompleteParams{Ref: &mcp.CompleteReference{Type: "ref/resource", URI: "notes://customers/ada"}, Argument: arg}); err == nil ||
		!strings.Contains(err.Error(), "no-customers") {
		t.Errorf("completion over a denied resource: %v", err)
	}
	cr, err := cs.Complete(ctx, &mcp.CompleteParams{Ref: &mcp.CompleteReference{Type: "ref/resource", URI: "notes://public/{id}"}, Argument: arg})
	if err != nil || len(cr.Completion.Values) != 1 {
		t.Fatalf("allowed completion: %v %+v", err, cr)
	}
	// go-sdk's client subscribes with subscriptions/listen (2026-07-28),
	// a stream that stays open; the decision is audited when it starts.
	_ = cs.Subscribe(ctx, &mcp.SubscribeParams{URI: "notes://customers/ada"})
	_ = cs.Subscribe(ctx, &mcp.SubscribeParams{URI: "notes://public/1"})
	recs := s.records(t, 5)
	want := []struct{ method, decision string }{
		{"completion/complete", "deny"}, {"completion/complete", "deny"}, {"completion/complete", "allow"},
		{"subscriptions/listen", "deny"}, {"subscriptions/listen", "allow"},
	}
	// The two streams' records may land in either order: the refused one
	// is written as its call returns, the accepted one as its stream
	// starts.
	if recs[3].Decision == "allow" {
		recs[3], recs[4] = recs[4], recs[3]
	}
	for i, w := range want {
		if recs[i].Method != w.method || recs[i].Decision != w.decision {
			t.Errorf("record %d: %s %s, want %s %s", i, recs[i].Method, recs[i].Decision, w.method, w.decision)
		}
	}
}

// TestEveryMethodIsGoverned reads go-sdk's own table of the methods a
// server handles (serverMethodInfos in the module source this build
// uses) and fails when one is missing from Methods, so a method added
// by a go-sdk upgrade cannot pass the policy ungoverned. It also checks
// that the methods that return server data are decided or filtered.
func TestEveryMethodIsGoverned(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/modelcontextprotocol/go-sdk").Output()
	if err != nil {
		t.Fatalf("locating go-sdk: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "mcp")
	fset := token.NewFileSet()
	consts := map[string]string{}
	var table *ast.CompositeLit
	for _, name := range []string{"protocol.go", "server.go", "shared.go"} {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
		if err != nil {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.ValueSpec:
				for i, id := range x.Names {
					if i < len(x.Values) {
						if bl, ok := x.Values[i].(*ast.BasicLit); ok && bl.Kind == token.STRING {
							consts[id.Name], _ = strconv.Unquote(bl.Value)
						}
						if id.Name == "serverMethodInfos" {
							table, _ = x.Values[i].(*ast.CompositeLit)
						}
					}
				}
			}
			return true
		})
	}
	if table == nil {
		t.Fatal("go-sdk's serverMethodInfos table was not found: the governance check must be updated for this go-sdk")
	}
	var methods []string
	for _, el := range table.Elts {
		kv := el.(*ast.KeyValueExpr)
		id, ok := kv.Key.(*ast.Ident)
		if !ok || consts[id.Name] == "" {
			t.Fatalf("cannot resolve method key %v", kv.Key)
		}
		methods = append(methods, consts[id.Name])
	}
	if len(methods) < 15 {
		t.Fatalf("only %d methods read from go-sdk: %v", len(methods), methods)
	}
	for _, m := range methods {
		if _, ok := Methods[m]; !ok {
			t.Errorf("go-sdk serves %q but the policy does not classify it (add it to Methods)", m)
		}
	}
	for _, m := range []string{"tools/call", "resources/read", "prompts/get", "completion/complete", "resources/subscribe", "subscriptions/listen"} {
		if Methods[m] != Decided {
			t.Errorf("%s is not decided", m)
		}
	}
	for _, m := range []string{"tools/list", "resources/list", "resources/templates/list", "prompts/list"} {
		if Methods[m] != Listed {
			t.Errorf("%s is not filtered", m)
		}
	}
}

// TestUnknownMethodIsRefused: a method the policy does not classify (one
// a server registers with go-sdk's AddReceivingCustomMethod, such as a
// tasks extension) is refused rather than passed through.
func TestUnknownMethodIsRefused(t *testing.T) {
	s := startServer(t, serverOpts{subject: "ursula"})
	ran := false
	next := func(context.Context, string, mcp.Request) (mcp.Result, error) {
		ran = true
		return &mcp.CallToolResult{}, nil
	}
	h := s.enf.Middleware()(next)
	req := &mcp.ServerRequest[*mcp.CallToolParamsRaw]{Params: &mcp.CallToolParamsRaw{Name: "x"}}
	if _, err := h(context.Background(), "tasks/result", req); err == nil || ran {
		t.Errorf("tasks/result passed the policy: ran=%v err=%v", ran, err)
	}
	if _, err := h(context.Background(), "notifications/tasks/status", req); err != nil || !ran {
		t.Errorf("a notification was refused: %v", err)
	}
}

// TestListChangedNamesNothing: the list-changed notification a policy
// reload sends carries no tool names (the hidden tools stay hidden); a
// caller learns what changed only by listing again, which is filtered.
func TestListChangedNamesNothing(t *testing.T) {
	path := writePolicy(t, "")
	s := startServer(t, serverOpts{policyFile: path, subject: "ursula"})
	got := make(chan []byte, 4)
	cs := s.h.Connect(t, &mcp.ClientOptions{ToolListChangedHandler: func(_ context.Context, req *mcp.ToolListChangedRequest) {
		b, _ := json.Marshal(req.Params)
		got <- b
	}})
	base, _ := os.ReadFile("testdata/server.yaml")
	replaceFile(t, path, string(base)+"  - id: hide-reads\n    effect: deny\n    tools: [read_note]\n")
	select {
	case b := <-got:
		for _, name := range []string{"read_note", "add_note", "delete_note", "get_customer"} {
			if strings.Contains(string(b), name) {
				t.Errorf("notification names %s: %s", name, b)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no list_changed after the reload")
	}
	if names := toolNames(t, cs); names["read_note"] != nil || len(names) != 1 {
		t.Errorf("after the reload the caller sees %v", slices.Collect(mapsKeys(names)))
	}
}

// TestPromptGetGovernedOverStatelessHTTP: the same decision holds over
// Streamable HTTP without sessions (protocol 2026-07-28).
func TestPromptGetGovernedOverStatelessHTTP(t *testing.T) {
	s := startServer(t, serverOpts{policyFile: writeFileIn(t, "deny.yaml", denyAll), apiKeys: []string{"support-key"},
		http: `{addr: "127.0.0.1:0", stateless: true}`})
	cs := s.h.ConnectHTTP(t, coretest.BearerClient(apiKey("support-key")))
	if _, err := cs.GetPrompt(context.Background(), &mcp.GetPromptParams{Name: "customer_brief", Arguments: map[string]string{"id": "ada"}}); err == nil ||
		!strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("stateless prompts/get: %v", err)
	}
	if r := s.records(t, 1)[0]; r.Method != "prompts/get" || r.Decision != "deny" || !strings.Contains(r.Principal, "support-key") {
		t.Errorf("record: %+v", r)
	}
}

// TestResourcesSubscribeIsGoverned: the 2025-11-25 resources/subscribe
// request is decided like a read of its URI and audited under its name.
func TestResourcesSubscribeIsGoverned(t *testing.T) {
	path := writePolicy(t, "  - id: no-customers\n    effect: deny\n    resources: [\"notes://customers/*\"]\n")
	s := startServer(t, serverOpts{policyFile: path, apiKeys: []string{"support-key"}, http: `{addr: "127.0.0.1:0"}`})
	key := apiKey("support-key")
	send := func(session, body string) (string, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", s.h.URL(), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("Mcp-Session-Id"), string(b)
	}
	sid, _ := send("", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	send(sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	if _, body := send(sid, `{"jsonrpc":"2.0","id":2,"method":"resources/subscribe","params":{"uri":"notes://customers/ada"}}`); !strings.Contains(body, "no-customers") {
		t.Errorf("denied subscribe: %s", body)
	}
	if _, body := send(sid, `{"jsonrpc":"2.0","id":3,"method":"resources/subscribe","params":{"uri":"notes://public/1"}}`); !strings.Contains(body, `"result"`) {
		t.Errorf("allowed subscribe: %s", body)
	}
	recs := s.records(t, 2)
	if recs[0].Method != "resources/subscribe" || recs[0].Decision != "deny" || recs[1].Method != "resources/subscribe" || recs[1].Decision != "allow" {
		t.Errorf("records: %+v", recs)
	}
}
