package github_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/observability"
	"github.com/mcpfleet/mcpfleet/servers/github/internal/fakegithub"
)

// TestSecondaryRateLimitsAreWaitedOut: a 403 with Retry-After on a read
// and two 429s on a write are all retried after the wait GitHub named, by
// core's upstream transport (a POST is resent only because the rate limit
// refused it before GitHub acted: upstream.retry.rate_limited_writes), and
// the write happens exactly once.
func TestSecondaryRateLimitsAreWaitedOut(t *testing.T) {
	s := startServer(t, setup{})
	s.fake.RateLimitNext("secondary", 1)
	s.ok("get_repository", hello)
	s.fake.RateLimitNext("429", 2)
	out := s.ok("create_issue", with(obj{"title": "After the limit"}))
	if field(out, "number") != float64(5) {
		t.Errorf("create_issue = %v", out)
	}
	if waits := s.clock.Sleeps(); len(waits) != 3 || waits[0] != time.Second || waits[1] != time.Second || waits[2] != time.Second {
		t.Errorf("waits = %v, want three of Retry-After's 1s", waits)
	}
	var creates int
	for _, r := range s.fake.Requests() {
		if r.Method == "POST" && r.Status == http.StatusCreated {
			creates++
		}
	}
	if creates != 1 {
		t.Errorf("%d issues created, want exactly 1", creates)
	}
}

// TestRateLimitedWriteRetryCanBeTurnedOff: with a connection's
// upstream.retry.rate_limited_writes off, a write a rate limit refused is
// not sent again; the model gets the rate-limit error.
func TestRateLimitedWriteRetryCanBeTurnedOff(t *testing.T) {
	s := startServer(t, setup{connections: defaultConnections + "      upstream: {retry: {rate_limited_writes: false}}\n"})
	s.fake.RateLimitNext("429", 1)
	msg := s.fails("create_issue", with(obj{"title": "Not retried"}))
	if !strings.Contains(msg, "rate limit") {
		t.Errorf("error: %s", msg)
	}
	if reqs := s.fake.Requests(); len(reqs) != 1 || reqs[0].Status != http.StatusTooManyRequests {
		t.Errorf("requests: %+v, want the one refused POST", reqs)
	}
	if waits := s.clock.Sleeps(); len(waits) != 0 {
		t.Errorf("waited %v", waits)
	}
}

// TestExhaustedQuotaFailsFastWithTheReset: when the quota resets later
// than a call can wait, the call fails at once with a message naming the
// reset, and later calls fail without asking GitHub until then.
func TestExhaustedQuotaFailsFastWithTheReset(t *testing.T) {
	s := startServer(t, setup{})
	s.fake.RateLimitNext("exhausted", 1)
	msg := s.fails("get_repository", hello)
	if !strings.Contains(msg, `GitHub rate limit exhausted on connection "main" (0 of 5000 requests left); it resets at`) || !strings.Contains(msg, "try again after that") {
		t.Errorf("exhausted quota: %s", msg)
	}
	if len(s.clock.Sleeps()) != 0 {
		t.Errorf("waited %v for a reset an hour away", s.clock.Sleeps())
	}
	n := s.fake.Count()
	if msg := s.fails("list_issues", hello); !strings.Contains(msg, "rate limit exhausted") {
		t.Errorf("second call: %s", msg)
	}
	if s.fake.Count() != n {
		t.Error("a call was sent to GitHub while the quota was known to be exhausted")
	}
}

// TestReadyzReportsQuotaPerConnection: /readyz carries each connection's
// remaining quota and circuit, and stays ready while GitHub is down.
func TestReadyzReportsQuotaPerConnection(t *testing.T) {
	key := "mcpk_readyz_test_key_0123456789abcdef"
	s := startServer(t, setup{noConnect: true, config: func(c *config.Config) {
		c.Transport = config.TransportHTTP
		c.HTTP.Addr = "127.0.0.1:0"
		c.Auth.APIKeys = []config.APIKey{{ID: "test", SHA256: authn.HashAPIKey(key)}}
	}})
	readyz := func() (int, map[string]any) {
		resp, err := http.Get(s.harness.BaseURL() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var rep map[string]any
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatalf("readyz: %v: %s", err, b)
		}
		return resp.StatusCode, rep
	}
	// No call yet: the check asks GitHub's free /rate_limit once.
	status, rep := readyz()
	detail := field(rep, "checks.github_main.detail")
	if status != 200 || str(detail, "circuit") != "closed" || str(detail, "auth") != "token" {
		t.Fatalf("readyz = %d %v", status, rep)
	}
	if got := field(detail, "quotas.0.remaining"); got != float64(s.fake.Remaining()) {
		t.Errorf("reported remaining quota %v, fake has %d", got, s.fake.Remaining())
	}

	cs := s.harness.ConnectHTTP(t, bearer(key))
	s.cs = cs
	s.ok("get_repository", hello)
	_, rep = readyz()
	if got := field(rep, "checks.github_main.detail.quotas.0.remaining"); got != float64(s.fake.Remaining()) || got != float64(4999) {
		t.Errorf("remaining quota after one call: %v, fake has %d", got, s.fake.Remaining())
	}

	// GitHub down: still ready, with the problem in the detail.
	s.fake.Server.Close()
	s.clock.Advance(10 * time.Minute)
	status, rep = readyz()
	if status != 200 || rep["status"] != "ok" || str(rep, "checks.github_main.detail.probe_error") == "" {
		t.Errorf("readyz with GitHub down = %d %v", status, rep)
	}
}

func bearer(token string) *http.Client {
	return &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+token)
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestCacheETagRevalidationCostsNoQuota: with ttl 0 every read asks
// GitHub, with the ETag it sent; the 304 costs no quota and the cached
// answer is returned.
func TestCacheETagRevalidationCostsNoQuota(t *testing.T) {
	s := startServer(t, setup{github: "  cache: {enabled: true, ttl: 0s}\n"})
	first := s.ok("get_repository", hello)
	after1 := s.fake.Remaining()
	second := s.ok("get_repository", hello)
	if fmt.Sprint(first) != fmt.Sprint(second) {
		t.Errorf("revalidated answer differs:\n%v\n%v", first, second)
	}
	reqs := s.fake.Requests()
	if len(reqs) != 2 || reqs[1].IfNoneMatch == "" || reqs[1].Status != http.StatusNotModified {
		t.Fatalf("second read: %+v", reqs[len(reqs)-1])
	}
	if s.fake.Remaining() != after1 {
		t.Errorf("the 304 cost quota: %d -> %d", after1, s.fake.Remaining())
	}
	// A change on GitHub is seen at once: the ETag no longer matches.
	s.fake.Mutate(func(d *fakegithub.Data) { d.Repos["octo/hello"].Info.Description = new("changed") })
	if got := str(s.ok("get_repository", hello), "description"); got != "changed" {
		t.Errorf("after a change on GitHub: %q", got)
	}
}

// TestCacheTTLServesWithoutAsking: within the TTL a read is answered from
// the cache; a write to the repository through the server makes its reads
// revalidate, so the model sees its own writes.
func TestCacheTTLServesWithoutAsking(t *testing.T) {
	s := startServer(t, setup{github: "  cache: {enabled: true, ttl: 1m}\n"})
	s.ok("list_issues", hello)
	s.ok("get_repository", hello)
	n := s.fake.Count()
	s.ok("list_issues", hello)
	s.ok("get_repository", hello)
	if s.fake.Count() != n {
		t.Fatalf("reads within the TTL asked GitHub: %v", s.requestsSince(n))
	}
	s.ok("create_issue", with(obj{"title": "Fresh"}))
	n = s.fake.Count()
	out := s.ok("list_issues", hello)
	if length(out, "issues") != 3 {
		t.Errorf("list after create does not show the new issue: %v", out)
	}
	if got := s.requestsSince(n); len(got) != 1 || got[0].IfNoneMatch == "" {
		t.Errorf("read after a write: %+v, want one revalidation", got)
	}
	s.clock.Advance(2 * time.Minute)
	n = s.fake.Count()
	s.ok("get_repository", hello)
	if got := s.requestsSince(n); len(got) != 1 || got[0].Status != http.StatusNotModified {
		t.Errorf("read past the TTL: %+v, want a free 304", got)
	}
}

// TestCacheOff: every read is a full request.
func TestCacheOff(t *testing.T) {
	s := startServer(t, setup{github: "  cache: {enabled: false}\n"})
	s.ok("get_repository", hello)
	s.ok("get_repository", hello)
	for _, r := range s.fake.Requests() {
		if r.IfNoneMatch != "" || r.Status != http.StatusOK {
			t.Errorf("request with the cache off: %+v", r)
		}
	}
	if s.fake.Remaining() != 4998 {
		t.Errorf("remaining %d, want 4998", s.fake.Remaining())
	}
}

// TestMetricsReportQuotaAndCache: /metrics carries the remaining quota
// per connection (core's upstream gauge) and the cache's results.
func TestMetricsReportQuotaAndCache(t *testing.T) {
	s := startServer(t, setup{modules: []fx.Option{observability.Module}, config: func(c *config.Config) {
		c.Transport = config.TransportHTTP
		c.HTTP.Addr = "127.0.0.1:0"
		c.Auth.Disabled = true
	}, noConnect: true})
	s.cs = s.harness.ConnectHTTP(t, http.DefaultClient)
	s.ok("get_repository", hello)
	s.ok("get_repository", hello)
	resp, err := http.Get(s.harness.BaseURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	metrics := string(b)
	for _, want := range []string{
		`mcpfleet_upstream_rate_limit_remaining{`,
		`mcpfleet_upstream="github-main"`,
		`mcpfleet_httpcache_results_total{`,
		`httpcache_result="revalidated"`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(metrics, "upstream"))
		}
	}
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, "mcpfleet_upstream_rate_limit_remaining{") && !strings.HasSuffix(line, " 4999") {
			t.Errorf("remaining quota metric: %s (fake has %d)", line, s.fake.Remaining())
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
