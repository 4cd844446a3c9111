package policy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/pkg/policy/internal/testenv"
)

func writePolicy(t *testing.T, extra string) string {
	t.Helper()
	base, err := os.ReadFile("testdata/server.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, append(base, []byte(extra)...), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var retryRE = regexp.MustCompile(`retry after (\d+) seconds`)

// TestRedisRateLimitSharedByReplicas: two server instances with the redis
// backend share one budget per caller.
func TestRedisRateLimitSharedByReplicas(t *testing.T) {
	_, prefix := testenv.Redis(t)
	policy := writePolicy(t, "rate_limits:\n  - {id: reads-per-caller, rate: 3/m, per: [principal, tool]}\n")
	opts := serverOpts{policyFile: policy, subject: "ursula",
		policyYAML: "rate_limit: {backend: redis, redis_url: \"" + testenv.RedisURL + "\", key_prefix: \"" + prefix + "\"}\n"}
	a := startServer(t, opts)
	b := startServer(t, opts)
	sessions := []*testServer{a, b}
	allowed := 0
	var refusal string
	for i := range 8 {
		res := call(t, sessions[i%2].h.Connect(t, nil), "read_note", map[string]any{"id": "1"})
		if !res.IsError {
			allowed++
			continue
		}
		refusal = text(res)
	}
	if allowed != 3 {
		t.Fatalf("%d calls allowed across two replicas; the budget is 3", allowed)
	}
	m := retryRE.FindStringSubmatch(refusal)
	if m == nil || !strings.Contains(refusal, "reads-per-caller") || m[1] == "0" {
		t.Fatalf("refusal: %q", refusal)
	}
	// Another tool has its own bucket.
	if res := call(t, a.h.Connect(t, nil), "get_customer", map[string]any{"id": "1"}); res.IsError {
		t.Fatalf("other tool: %s", text(res))
	}
	recs := append(a.records(t, 5), b.records(t, 4)...)
	limited := 0
	for _, r := range recs {
		if r.Outcome == OutcomeRateLimited {
			limited++
			if r.Decision != "allow" || !strings.Contains(r.Error, "reads-per-caller") {
				t.Errorf("record: %+v", r)
			}
		}
	}
	if limited != 5 {
		t.Errorf("%d rate-limited records, want 5", limited)
	}
	if n, _ := a.metricValue(t, "mcpfleet.policy.rate_limited", "limit=reads-per-caller"); n == 0 {
		t.Error("rate-limited metric not counted")
	}
}

func TestMemoryRateLimit(t *testing.T) {
	policy := writePolicy(t, "rate_limits:\n  - {id: everyone, rate: 2/h, roles: [users]}\n")
	s := startServer(t, serverOpts{policyFile: policy})
	cs := s.h.Connect(t, nil)
	for i, wantErr := range []bool{false, false, true} {
		if res := call(t, cs, "read_note", map[string]any{"id": "1"}); res.IsError != wantErr {
			t.Fatalf("call %d: %s", i, text(res))
		}
	}
}

// TestRedisDown: an unreachable Redis fails closed (refused with a retry
// hint) or open (allowed), as configured, with a metric and a log line.
func TestRedisDown(t *testing.T) {
	policy := writePolicy(t, "rate_limits:\n  - {id: everyone, rate: 100/s}\n")
	for _, failOpen := range []bool{false, true} {
		yaml := "rate_limit: {backend: redis, redis_url: \"redis://127.0.0.1:1/0\", timeout: 100ms, fail_open: " +
			map[bool]string{false: "false", true: "true"}[failOpen] + "}\n"
		s := startServer(t, serverOpts{policyFile: policy, policyYAML: yaml})
		res := call(t, s.h.Connect(t, nil), "read_note", map[string]any{"id": "1"})
		if res.IsError == failOpen {
			t.Errorf("fail_open=%v: %s", failOpen, text(res))
		}
		if !failOpen && !strings.Contains(text(res), "retry after 1 second") {
			t.Errorf("fail closed message: %s", text(res))
		}
		if !strings.Contains(s.h.Logs(), "rate-limit backend unavailable") {
			t.Error("no log line")
		}
		attr := map[bool]string{false: "fail_open=false", true: "fail_open=true"}[failOpen]
		if n, _ := s.metricValue(t, "mcpfleet.policy.rate_limit.backend_errors", attr); n != 1 {
			t.Errorf("backend error metric: %d", n)
		}
	}
}
