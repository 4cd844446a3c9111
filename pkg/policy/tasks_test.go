package policy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"go.uber.org/fx"
)

// exportModule is a confidential tool that runs as a task: it detaches
// at once, so its result is only ever fetched with tasks/get.
func exportModule() fx.Option {
	return fx.Options(
		core.CacheModule, // task state lives in the cache
		core.AsTool(func() *core.ToolDef {
			spec := core.ToolSpec{Name: "export_customer", Title: "export customer", Description: "test tool export_customer",
				Toolset: "notes", Effect: core.ReadOnly, Idempotent: core.No, OpenWorld: core.No,
				Classification: core.Confidential, Permissions: core.NoPermissions, Task: core.TaskOptional}
			return core.NewTool(spec, func(_ context.Context, call *core.Call, in noteIn) (customerOut, error) {
				call.Detach()
				return customerOut{Name: "Ada " + in.ID, Email: "ada@example.com", Phone: "+44 20 7946 0958", Token: customerToken}, nil
			})
		}),
	)
}

const tasksMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"extensions":{"io.modelcontextprotocol/tasks":{}}}}`

// rpc2026 sends one 2026-07-28 request and returns its decoded body.
func rpc2026(t *testing.T, url, key, method, name, params string) map[string]any {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":{` + params + `}}`
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", method)
	if name != "" {
		req.Header.Set("Mcp-Name", name)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	raw := string(b)
	// A streamed answer carries the message on its data: line.
	if i := strings.Index(raw, "data: "); i >= 0 {
		raw = strings.TrimSpace(strings.SplitN(raw[i+len("data: "):], "\n", 2)[0])
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("%s answered %d %q", method, resp.StatusCode, b)
	}
	return m
}

// TestTaskResultsAreRedacted: a call that becomes a task is redacted for
// its caller's clearance like any call, although its result is fetched
// later with tasks/get, past the middleware that redacts answers.
func TestTaskResultsAreRedacted(t *testing.T) {
	for _, c := range []struct {
		key      string
		redacted bool
	}{{"user-key", true}, {"support-key", false}} {
		t.Run(c.key, func(t *testing.T) {
			s := startServer(t, serverOpts{apiKeys: []string{"user-key", "support-key"}, http: `{addr: "127.0.0.1:0", stateless: true}`,
				modules: []fx.Option{exportModule()}})
			key := apiKey(c.key)
			created := rpc2026(t, s.h.URL(), key, "tools/call", "export_customer", `"name":"export_customer","arguments":{"id":"7"},`+tasksMeta)
			res, _ := created["result"].(map[string]any)
			id, _ := res["taskId"].(string)
			if res["resultType"] != "task" || id == "" {
				t.Fatalf("tools/call did not create a task: %v", created)
			}
			var done map[string]any
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				got := rpc2026(t, s.h.URL(), key, "tasks/get", id, `"taskId":"`+id+`",`+tasksMeta)
				if r, _ := got["result"].(map[string]any); r["status"] == "completed" {
					done = r
					break
				}
			}
			if done == nil {
				t.Fatal("the task never completed")
			}
			out, _ := json.Marshal(done["result"])
			leaked := strings.Contains(string(out), "ada@example.com") || strings.Contains(string(out), customerToken)
			if leaked == c.redacted || !strings.Contains(string(out), "Ada 7") {
				t.Errorf("task result for %s (redacted=%v): %s", c.key, c.redacted, out)
			}
		})
	}
}

// TestTaskMethodsAreGoverned: tasks/get is decided as a use of the task's
// tool and audited under its own name; after a policy reload that takes the
// tool away, the caller's own task answers "unknown task", like a task that
// is not its own, and the refusal is audited.
func TestTaskMethodsAreGoverned(t *testing.T) {
	path := writePolicy(t, "")
	s := startServer(t, serverOpts{policyFile: path, apiKeys: []string{"user-key"}, http: `{addr: "127.0.0.1:0", stateless: true}`,
		modules: []fx.Option{exportModule()}})
	key := apiKey("user-key")
	created := rpc2026(t, s.h.URL(), key, "tools/call", "export_customer", `"name":"export_customer","arguments":{"id":"7"},`+tasksMeta)
	res, _ := created["result"].(map[string]any)
	id, _ := res["taskId"].(string)
	if id == "" {
		t.Fatalf("no task: %v", created)
	}
	get := func() map[string]any {
		return rpc2026(t, s.h.URL(), key, "tasks/get", id, `"taskId":"`+id+`",`+tasksMeta)
	}
	if r, _ := get()["result"].(map[string]any); r == nil {
		t.Fatal("tasks/get of the caller's own task failed")
	}
	recs := s.records(t, 2)
	if r := recs[1]; r.Method != "tasks/get" || r.Tool != "export_customer" || r.Decision != "allow" || r.Rule != RuleTaskTool {
		t.Errorf("tasks/get record: %+v", r)
	}

	// Take the tool away: users may no longer read anything.
	first := s.enf.Document().Hash()
	base, _ := os.ReadFile("testdata/server.yaml")
	denied := strings.Replace(string(base), "    roles: [users]\n    annotations: {read_only: true}\n", "    roles: [admins]\n    annotations: {read_only: true}\n", 1)
	if denied == string(base) {
		t.Fatal("test policy changed shape")
	}
	replaceFile(t, path, denied)
	waitFor(t, func() bool { return s.enf.Document().Hash() != first })
	hidden := get()
	other := rpc2026(t, s.h.URL(), key, "tasks/get", "no-such-task", `"taskId":"no-such-task",`+tasksMeta)
	he, _ := hidden["error"].(map[string]any)
	oe, _ := other["error"].(map[string]any)
	if he == nil || oe == nil || he["code"] != oe["code"] || !strings.Contains(he["message"].(string), "unknown task") {
		t.Errorf("hidden task %v, missing task %v: want the same unknown-task error", hidden, other)
	}
	recs = s.records(t, 3)
	if r := recs[2]; r.Method != "tasks/get" || r.Decision != "deny" || r.Outcome != OutcomeDenied {
		t.Errorf("refused tasks/get record: %+v", r)
	}
}
