package upstream

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testClock is a Clock whose Sleep records the wait and moves time on at
// once, so tests of Retry-After and backoff never wait.
type testClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	// sleeping, when set, receives each wait, and Sleep then blocks until
	// its context is done.
	sleeping chan time.Duration
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *testClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	ch := c.sleeping
	c.mu.Unlock()
	if ch != nil {
		ch <- d
		<-ctx.Done()
	}
	return ctx.Err()
}

func (c *testClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// fakeUpstream is an httptest server counting requests and connections.
type fakeUpstream struct {
	*httptest.Server
	hits  atomic.Int64
	conns atomic.Int64
}

// newFakeUpstream serves h, which is told the request's number (from 1).
func newFakeUpstream(t *testing.T, h func(w http.ResponseWriter, r *http.Request, hit int64)) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r, f.hits.Add(1))
	}))
	f.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	f.Start()
	t.Cleanup(f.Close)
	return f
}

func testConfig() Config {
	cfg := NewDefaultConfig()
	cfg.Name = "test"
	cfg.Timeout = 10 * time.Second
	cfg.Deadline = time.Minute
	cfg.Retry = Retry{MaxRetries: 3, BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second}
	cfg.RateLimit = RateLimit{}
	cfg.Breaker = Breaker{}
	return cfg
}

func newTestClient(t *testing.T, cfg Config, deps Deps) *Client {
	t.Helper()
	c, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// do sends a request and returns the status and body. It is safe to call
// from any goroutine.
func do(t *testing.T, c *Client, req *http.Request) (int, string, error) {
	t.Helper()
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func newRequest(t *testing.T, ctx context.Context, method, url, body string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func get(t *testing.T, c *Client, url string) (int, string, error) {
	t.Helper()
	return do(t, c, newRequest(t, context.Background(), http.MethodGet, url, ""))
}

// cancelWhileSleeping sends a GET to up, waits until the client starts a
// wait of want on sleeping, cancels the request and checks that it ends with
// context.Canceled, the upstream having seen hits requests in all.
func cancelWhileSleeping(t *testing.T, c *Client, up *fakeUpstream, sleeping <-chan time.Duration, want time.Duration, hits int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	req := newRequest(t, ctx, http.MethodGet, up.URL, "")
	go func() {
		_, _, err := do(t, c, req)
		done <- err
	}()
	select {
	case d := <-sleeping:
		if d != want {
			t.Errorf("waiting %s, want %s", d, want)
		}
	case err := <-done:
		t.Fatalf("request ended without waiting: %v", err)
	}
	cancel()
	// A wait that ignored its context would hang here.
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if n := up.hits.Load(); n != hits {
		t.Errorf("upstream saw %d requests, want %d", n, hits)
	}
}
