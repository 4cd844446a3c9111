package aws_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestLogsInsightsProgressAndResume: while the query runs the client gets
// progress notifications; when it outlasts the wait bound the result
// says Running with the query id, and a call with that id picks it up
// without starting another query.
func TestLogsInsightsProgressAndResume(t *testing.T) {
	var mu sync.Mutex
	var progress []string
	s := startServer(t, setup{noConnect: true, aws: "  retry: {max_attempts: 3, max_backoff: 1ms}\n  limits: {query_wait: 50ms, query_poll: 20ms}\n"})
	cs := s.harness.Connect(t, &mcp.ClientOptions{ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
		mu.Lock()
		defer mu.Unlock()
		progress = append(progress, r.Params.Message)
	}})
	s.fake.InsightsPolls = 4
	params := &mcp.CallToolParams{Name: "query_logs_insights", Arguments: obj{"log_groups": []string{"/ecs/web"}, "query": "stats count(*) by bin(5m)"}}
	params.SetProgressToken("p1")
	res, err := cs.CallTool(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	out := okResult(t, res, "query_logs_insights", nil)
	qid := str(out, "query_id")
	if str(out, "status") != "Running" || qid == "" || !strings.Contains(str(out, "hint"), "call query_logs_insights again with this query_id") {
		t.Fatalf("first call = %v", out)
	}
	mu.Lock()
	n := len(progress)
	first := ""
	if n > 0 {
		first = progress[0]
	}
	mu.Unlock()
	if n == 0 || !strings.Contains(first, "is Running") {
		t.Errorf("progress notifications: %v", progress)
	}
	for i := 0; i < 10 && str(out, "status") == "Running"; i++ {
		out = okResult(t, call(t, cs, "query_logs_insights", obj{"query_id": qid}), "query_logs_insights", nil)
	}
	if str(out, "status") != "Complete" || length(out, "rows") != 2 {
		t.Errorf("resumed = %v", out)
	}
	if starts := count(s.fake.Ops("logs"), "StartQuery"); starts != 1 {
		t.Errorf("%d queries started, want 1", starts)
	}
}

// TestObjectTextBounds: text beyond the cap is cut and says so; binary
// objects (by content type or by their bytes) come back as metadata only.
func TestObjectTextBounds(t *testing.T) {
	s := startServer(t, setup{aws: "  retry: {max_attempts: 3, max_backoff: 1ms}\n  limits: {max_object_bytes: 64}\n"})
	seedS3(t, s)
	long := s.ok("get_object_text", obj{"bucket": "logs", "key": "app/b.log"})
	if field(long, "truncated") != true || field(long, "size") != float64(200) || !strings.Contains(str(long, "text"), strings.Repeat("x", 64)+"\n") ||
		strings.Contains(str(long, "text"), strings.Repeat("x", 65)) || !strings.Contains(str(long, "hint"), "first 64 of 200 bytes") {
		t.Errorf("long = %v", long)
	}
	for _, key := range []string{"app/c.bin", "app/d.png"} {
		bin := s.ok("get_object_text", obj{"bucket": "logs", "key": key})
		if field(bin, "binary") != true || str(bin, "text") != "" || str(bin, "hint") == "" {
			t.Errorf("%s = %v", key, bin)
		}
	}
	if msg := s.fails("put_object", obj{"bucket": "logs", "key": "big", "text": strings.Repeat("y", 65)}); !strings.Contains(msg, "the server writes at most 64") {
		t.Errorf("put too big: %s", msg)
	}
}
