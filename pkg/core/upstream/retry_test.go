package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestRetriesUnavailableThenSucceeds(t *testing.T) {
	up := newFakeUpstream(t, func(w http.ResponseWriter, _ *http.Request, hit int64) {
		if hit < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, strings.Repeat("busy ", 100))
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	clk := newTestClock()
	c := newTestClient(t, testConfig(), Deps{Clock: clk})

	status, body, err := get(t, c, up.URL)
	if err != nil || status != http.StatusOK || body != "ok" {
		t.Fatalf("got %d %q %v, want 200 ok", status, body, err)
	}
	if n := up.hits.Load(); n != 3 {
		t.Errorf("upstream saw %d requests, want 3", n)
	}
	// The 503 bodies were drained and closed, so one connection served all.
	if n := up.conns.Load(); n != 1 {
		t.Errorf("upstream saw %d connections, want 1 (retried responses not drained?)", n)
	}
	sleeps := clk.Sleeps()
	if len(sleeps) != 2 {
		t.Fatalf("slept %v, want two backoffs", sleeps)
	}
	// Retry n waits BackoffBase*2^n ±50%.
	for n, d := range sleeps {
		if mid := 100 * time.Millisecond << n; d < mid/2 || d > mid*3/2 {
			t.Errorf("backoff %d = %s, want within %s ±50%%", n, d, mid)
		}
	}
}

func TestRetryHonoursUpstreamDelay(t *testing.T) {
	clk := newTestClock()
	now := clk.Now()
	for _, tc := range []struct {
		name    string
		status  int
		headers map[string]string
		want    time.Duration
	}{
		{"retry-after seconds", http.StatusTooManyRequests, map[string]string{"Retry-After": "7"}, 7 * time.Second},
		{"retry-after date", http.StatusServiceUnavailable,
			map[string]string{"Retry-After": now.Add(30 * time.Second).Format(http.TimeFormat)}, 30 * time.Second},
		{"retry-after date in the past", http.StatusServiceUnavailable,
			map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0},
		{"exhausted quota 403", http.StatusForbidden, map[string]string{
			"X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "5000",
			"X-RateLimit-Reset": strconv.FormatInt(now.Add(42*time.Second).Unix(), 10),
		}, 42 * time.Second},
		{"exhausted quota 429", http.StatusTooManyRequests, map[string]string{
			"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(now.Add(9*time.Second).Unix(), 10),
		}, 9 * time.Second},
		{"reset as seconds from now", http.StatusTooManyRequests, map[string]string{
			"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "12",
		}, 12 * time.Second},
		{"secondary rate limit 403", http.StatusForbidden, map[string]string{"Retry-After": "5"}, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newFakeUpstream(t, func(w http.ResponseWriter, _ *http.Request, hit int64) {
				if hit == 1 {
					for k, v := range tc.headers {
						w.Header().Set(k, v)
					}
					w.WriteHeader(tc.status)
					return
				}
				_, _ = io.WriteString(w, "ok")
			})
			clk := &testClock{now: now}
			c := newTestClient(t, testConfig(), Deps{Clock: clk})
			status, _, err := get(t, c, up.URL)
			if err != nil || status != http.StatusOK {
				t.Fatalf("got %d, %v; want 200", status, err)
			}
			if got := clk.Sleeps(); !slices.Equal(got, []time.Duration{tc.want}) {
				t.Errorf("slept %v, want [%s]", got, tc.want)
			}
			if n := up.hits.Load(); n != 2 {
				t.Errorf("upstream saw %d requests, want 2", n)
			}
		})
	}
}

func TestResponsesNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name     string
		method   string
		status   int
		headers  map[string]string
		retry500 bool
		noWrites bool // Retry.RateLimitedWrites off
		hits     int64
	}{
		{name: "plain 403", method: http.MethodGet, status: http.StatusForbidden, hits: 1},
		{name: "404", method: http.MethodGet, status: http.StatusNotFound, hits: 1},
		{name: "500 by default", method: http.MethodGet, status: http.StatusInternalServerError, hits: 1},
		{name: "500 when configured", method: http.MethodGet, status: http.StatusInternalServerError, retry500: true, hits: 4},
		{name: "POST 503", method: http.MethodPost, status: http.StatusServiceUnavailable, hits: 1},
		{name: "PATCH 429 is retried: the upstream did not act on it", method: http.MethodPatch, status: http.StatusTooManyRequests, hits: 4},
		{name: "POST rate-limited 403 is retried", method: http.MethodPost, status: http.StatusForbidden,
			headers: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"}, hits: 4},
		{name: "PATCH 429 without rate_limited_writes", method: http.MethodPatch, status: http.StatusTooManyRequests, noWrites: true, hits: 1},
		{name: "DELETE 503 exhausts retries", method: http.MethodDelete, status: http.StatusServiceUnavailable, hits: 4},
		{name: "Retry-After past the deadline", method: http.MethodGet, status: http.StatusTooManyRequests,
			headers: map[string]string{"Retry-After": "3600"}, hits: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newFakeUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int64) {
				for k, v := range tc.headers {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, "upstream says no")
			})
			cfg := testConfig()
			cfg.Retry.RetryOn500 = tc.retry500
			cfg.Retry.RateLimitedWrites = !tc.noWrites
			c := newTestClient(t, cfg, Deps{Clock: newTestClock()})
			status, body, err := do(t, c, newRequest(t, context.Background(), tc.method, up.URL, "x"))
			// The last response reaches the caller intact.
			if err != nil || status != tc.status || body != "upstream says no" {
				t.Errorf("got %d %q %v, want %d with its body", status, body, err, tc.status)
			}
			if n := up.hits.Load(); n != tc.hits {
				t.Errorf("upstream saw %d requests, want %d", n, tc.hits)
			}
		})
	}
}

func TestIdempotencyKeyAllowsRetry(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, hit int64) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		if hit == 1 {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	c := newTestClient(t, testConfig(), Deps{Clock: newTestClock()})
	req := newRequest(t, context.Background(), http.MethodPost, up.URL, `{"name":"x"}`)
	req.Header.Set("Idempotency-Key", "abc")
	if status, _, err := do(t, c, req); err != nil || status != http.StatusOK {
		t.Fatalf("got %d, %v; want 200", status, err)
	}
	// The body was rewound through GetBody for the second attempt.
	if want := []string{`{"name":"x"}`, `{"name":"x"}`}; !slices.Equal(bodies, want) {
		t.Errorf("upstream received %q, want %q", bodies, want)
	}
}

func TestBodyWithoutGetBodyIsNotRetried(t *testing.T) {
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int64) {
		_, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	c := newTestClient(t, testConfig(), Deps{Clock: newTestClock()})
	// A reader net/http cannot rewind: GetBody stays nil.
	req := newRequest(t, context.Background(), http.MethodPut, up.URL, "")
	req.Body = io.NopCloser(strings.NewReader("payload"))
	req.ContentLength = int64(len("payload"))
	if status, _, err := do(t, c, req); err != nil || status != http.StatusServiceUnavailable {
		t.Fatalf("got %d, %v; want the 503", status, err)
	}
	if n := up.hits.Load(); n != 1 {
		t.Errorf("upstream saw %d requests, want 1", n)
	}
}

func TestConnectionErrorsAreRetried(t *testing.T) {
	up := newFakeUpstream(t, func(w http.ResponseWriter, _ *http.Request, hit int64) {
		if hit == 1 {
			// Hang up without answering.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	c := newTestClient(t, testConfig(), Deps{Clock: newTestClock()})
	if status, body, err := get(t, c, up.URL); err != nil || status != http.StatusOK || body != "ok" {
		t.Fatalf("got %d %q %v, want 200 ok", status, body, err)
	}
	if n := up.hits.Load(); n != 2 {
		t.Errorf("upstream saw %d requests, want 2", n)
	}

	// A POST is never re-sent, even when the connection broke.
	up.hits.Store(0)
	_, _, err := do(t, c, newRequest(t, context.Background(), http.MethodPost, up.URL, "x"))
	if err == nil {
		t.Error("POST on a broken connection succeeded")
	}
	if n := up.hits.Load(); n != 1 {
		t.Errorf("upstream saw %d POSTs, want 1", n)
	}
}

func TestAttemptTimeoutIsRetried(t *testing.T) {
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, hit int64) {
		if hit == 1 {
			<-r.Context().Done() // until the client gives up on the attempt
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	cfg := testConfig()
	cfg.Timeout = 50 * time.Millisecond
	c := newTestClient(t, cfg, Deps{Clock: newTestClock()})
	if status, body, err := get(t, c, up.URL); err != nil || status != http.StatusOK || body != "ok" {
		t.Fatalf("got %d %q %v, want 200 ok", status, body, err)
	}
	if n := up.hits.Load(); n != 2 {
		t.Errorf("upstream saw %d requests, want 2", n)
	}
}

// signalingClock is real time that reports when a wait starts.
type signalingClock struct {
	realClock
	sleeping chan time.Duration
}

func (c signalingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.sleeping <- d
	return c.realClock.Sleep(ctx, d)
}

func TestCancelDuringBackoffReturns(t *testing.T) {
	up := newFakeUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int64) {
		w.Header().Set("Retry-After", "3000")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	cfg := testConfig()
	cfg.Deadline = 2 * time.Hour
	clk := signalingClock{sleeping: make(chan time.Duration, 1)}
	c := newTestClient(t, cfg, Deps{Clock: clk})

	cancelWhileSleeping(t, c, up, clk.sleeping, 3000*time.Second, 1)
}

func TestRequestIsNotModified(t *testing.T) {
	up := newFakeUpstream(t, func(w http.ResponseWriter, _ *http.Request, hit int64) {
		if hit == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	c := newTestClient(t, testConfig(), Deps{Clock: newTestClock()})
	req := newRequest(t, context.Background(), http.MethodGet, up.URL, "")
	req.Header.Set("Mcp-Session-Id", "s1")
	if _, _, err := do(t, c, req); err != nil {
		t.Fatal(err)
	}
	if len(req.Header) != 1 || req.Header.Get("Mcp-Session-Id") != "s1" {
		t.Errorf("caller's headers changed: %v", req.Header)
	}
}

func TestBackoffBounds(t *testing.T) {
	tr := &transport{cfg: testConfig()} // base 100ms, max 1s
	for range 200 {
		bo := tr.newBackOff()
		for n, mid := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
			mid *= time.Millisecond
			if d := bo.NextBackOff(); d < mid/2 || d > mid*3/2 {
				t.Fatalf("retry %d waits %s, want within %s ±50%%", n, d, mid)
			}
		}
	}
}

func TestServerDelay(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	for _, tc := range []struct {
		headers map[string]string
		want    time.Duration
		ok      bool
	}{
		{map[string]string{}, 0, false},
		{map[string]string{"Retry-After": "120"}, 2 * time.Minute, true},
		{map[string]string{"Retry-After": "-5"}, 0, true},
		{map[string]string{"Retry-After": "soon"}, 0, false},
		{map[string]string{"Retry-After": "99999999999999999999"}, 0, false},
		{map[string]string{"Retry-After": "9223372036854775807"}, time.Duration(1<<63 - 1), true},
		{map[string]string{"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "1750000060"}, 0, false},
		{map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1750000060"}, time.Minute, true},
		{map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "garbage"}, 0, false},
		// Retry-After wins over the quota reset.
		{map[string]string{"Retry-After": "1", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1750000060"}, time.Second, true},
	} {
		h := http.Header{}
		for k, v := range tc.headers {
			h.Set(k, v)
		}
		got, ok := serverDelay(h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("serverDelay(%v) = %s, %v; want %s, %v", tc.headers, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRetryableError(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		{"connection refused", live, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{"reset", live, fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"server hung up", live, io.EOF, true},
		{"attempt timeout", live, context.DeadlineExceeded, true},
		{"request cancelled", done, context.Canceled, false},
		{"dial failed but request cancelled", done, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, false},
		{"unknown host", live, &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", IsNotFound: true}}, false},
		{"dns timeout", live, &net.DNSError{Err: "timeout", IsTimeout: true}, true},
		{"bad certificate", live, &tls.CertificateVerificationError{Err: errors.New("x509: unknown authority")}, false},
		{"anything else", live, errors.New("unsupported protocol scheme"), false},
	} {
		if got := retryableError(tc.ctx, tc.err); got != tc.want {
			t.Errorf("%s: retryableError = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestIdempotent(t *testing.T) {
	for method, want := range map[string]bool{
		"": true, "GET": true, "HEAD": true, "OPTIONS": true, "TRACE": true, "PUT": true, "DELETE": true,
		"POST": false, "PATCH": false, "CONNECT": false,
	} {
		req := &http.Request{Method: method, Header: http.Header{}}
		if got := idempotent(req); got != want {
			t.Errorf("idempotent(%q) = %v, want %v", method, got, want)
		}
	}
	for _, h := range []string{"Idempotency-Key", "X-Idempotency-Key"} {
		req := &http.Request{Method: "POST", Header: http.Header{h: {"k"}}}
		if !idempotent(req) {
			t.Errorf("POST with %s not idempotent", h)
		}
	}
}
