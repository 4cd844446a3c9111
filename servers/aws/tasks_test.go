package aws_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

// meta26 is a 2026-07-28 request's _meta; metaTasks adds a client that
// declares the tasks extension.
const (
	meta26    = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	metaTasks = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"extensions":{"io.modelcontextprotocol/tasks":{}}}}`
)

// rpc26 sends one 2026-07-28 request as caller key and returns its
// result, failing the test on a JSON-RPC error.
func rpc26(t *testing.T, url, key, method, name, params string) map[string]any {
	t.Helper()
	m := rpcMessage(t, url, key, method, name, params)
	r, ok := m["result"].(map[string]any)
	if !ok {
		t.Fatalf("%s: no result: %v", method, m)
	}
	return r
}

// rpc26Err is rpc26 for a request that must fail: it returns the
// JSON-RPC error, or nil when there was none.
func rpc26Err(t *testing.T, url, key, method, name, params string) map[string]any {
	t.Helper()
	e, _ := rpcMessage(t, url, key, method, name, params)["error"].(map[string]any)
	return e
}

func rpcMessage(t *testing.T, url, key, method, name, params string) map[string]any {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":{` + params + `}}`
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Mcp-Protocol-Version", core.ProtocolSessionless)
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
	text := string(b)
	if i := strings.Index(text, "data: "); i >= 0 && !strings.HasPrefix(strings.TrimSpace(text), "{") {
		text, _, _ = strings.Cut(text[i+len("data: "):], "\n")
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("%s: HTTP %d, not JSON-RPC: %q", method, resp.StatusCode, b)
	}
	return m
}

// TestLogsInsightsAsATask: a client with the tasks extension gets a task
// at once and polls tasks/get until it holds the rows, however long the
// query outlasts query_wait; a client without it still gets the bounded
// wait (status Running with the query id).
func TestLogsInsightsAsATask(t *testing.T) {
	s := startServer(t, setup{noConnect: true, yaml: httpYAML(""),
		aws: "  retry: {max_attempts: 3, max_backoff: 1ms}\n  limits: {query_wait: 30ms, query_poll: 20ms}\n"})
	url := s.harness.URL()
	args := `"name":"query_logs_insights","arguments":{"log_groups":["/ecs/web"],"query":"stats count(*) by bin(5m)"},`

	// Without the extension: the bounded wait.
	s.fake.InsightsPolls = 4
	res := rpc26(t, url, aliceKey, "tools/call", "query_logs_insights", args+meta26)
	sc, _ := res["structuredContent"].(map[string]any)
	if res["resultType"] != "complete" || res["taskId"] != nil || sc["status"] != "Running" || sc["query_id"] == "" {
		t.Fatalf("plain client: %v", res)
	}

	// With it: a task, completed in the background with the rows.
	s.fake.InsightsPolls = 4
	res = rpc26(t, url, aliceKey, "tools/call", "query_logs_insights", args+metaTasks)
	id, _ := res["taskId"].(string)
	if res["resultType"] != "task" || id == "" || res["status"] != "working" {
		t.Fatalf("task-capable client: %v", res)
	}
	var done map[string]any
	for range 500 {
		done = rpc26(t, url, aliceKey, "tasks/get", id, `"taskId":"`+id+`",`+metaTasks)
		if done["status"] != "working" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if done["status"] != "completed" {
		t.Fatalf("task ended %v", done)
	}
	result, _ := done["result"].(map[string]any)
	out, _ := result["structuredContent"].(map[string]any)
	if out["status"] != "Complete" || length(out, "rows") != 2 || out["account"] != "dev" {
		t.Errorf("task result = %v", done)
	}
	if starts := count(s.fake.Ops("logs"), "StartQuery"); starts != 2 {
		t.Errorf("%d queries started, want 2 (one per call)", starts)
	}
	// The task is its caller's: another principal cannot read it.
	other := rpc26Err(t, url, bobKey, "tasks/get", id, `"taskId":"`+id+`",`+metaTasks)
	if other == nil {
		t.Errorf("bob read alice's task")
	}
}
