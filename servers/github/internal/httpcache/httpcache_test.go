package httpcache_test

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mcpfleet/mcpfleet/pkg/core/cache"
	"github.com/mcpfleet/mcpfleet/servers/github/internal/httpcache"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// origin serves versioned bodies with ETags and counts what it sends.
type origin struct {
	mu      sync.Mutex
	bodies  map[string]string
	full    int // 200s sent
	notMod  int // 304s sent
	lastINM string
	noETag  bool
	srv     *httptest.Server
}

func newOrigin(t *testing.T) *origin {
	o := &origin{bodies: map[string]string{"/repos/a/b": `{"v":1}`, "/repos/c/d": `{"v":1}`, "/big": strings.Repeat("x", 2048)}}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		defer o.mu.Unlock()
		if r.Method != http.MethodGet {
			o.bodies[r.URL.Path] = `{"v":2}`
			w.WriteHeader(http.StatusOK)
			return
		}
		body, ok := o.bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		etag := fmt.Sprintf(`"%x"`, sha256.Sum256([]byte(body+r.Header.Get("Accept"))))
		o.lastINM = r.Header.Get("If-None-Match")
		w.Header().Set("X-RateLimit-Remaining", fmt.Sprint(5000-o.full))
		if !o.noETag {
			w.Header().Set("ETag", etag)
		}
		w.Header().Set("Link", `<next>; rel="next"`)
		if o.lastINM == etag {
			o.notMod++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		o.full++
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *origin) counts() (full, notMod int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.full, o.notMod
}

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func newClient(t *testing.T, o *origin, c cache.Cache, ns string, ttl time.Duration, clk *clock) *http.Client {
	t.Helper()
	tr, err := httpcache.New(http.DefaultTransport, httpcache.Options{
		Cache: c, Namespace: ns, TTL: ttl, Keep: time.Hour, MaxEntryBytes: 1024, Now: clk.Now,
		Scope: func(r *http.Request) string {
			parts := strings.Split(r.URL.Path, "/")
			if len(parts) >= 4 && parts[1] == "repos" {
				return parts[2] + "/" + parts[3]
			}
			return ""
		},
		Revalidate: func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/notifications") },
	})
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: tr}
}

func newCache(t *testing.T) cache.Cache {
	c, err := cache.NewMemory(cache.MemoryOptions{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func get(t *testing.T, c *http.Client, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestRevalidatesWithETagAnd304(t *testing.T) {
	o := newOrigin(t)
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	c := newClient(t, o, newCache(t), "conn", 0, clk)
	_, first := get(t, c, o.srv.URL+"/repos/a/b")
	resp, second := get(t, c, o.srv.URL+"/repos/a/b")
	if first != `{"v":1}` || second != first {
		t.Fatalf("bodies %q, %q", first, second)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Link") == "" || resp.Header.Get(httpcache.FromCacheHeader) != "" {
		t.Errorf("revalidated answer: status %d, headers %v", resp.StatusCode, resp.Header)
	}
	if got := resp.Header.Get("X-Ratelimit-Remaining"); got != "4999" {
		t.Errorf("quota header %q: want the 304's current value", got)
	}
	if full, notMod := o.counts(); full != 1 || notMod != 1 {
		t.Errorf("origin sent %d full answers and %d 304s, want 1 and 1", full, notMod)
	}
	if o.lastINM == "" {
		t.Error("no If-None-Match sent")
	}
}

func TestFreshWithinTTLAndWritesInvalidateTheirScope(t *testing.T) {
	o := newOrigin(t)
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	c := newClient(t, o, newCache(t), "conn", 30*time.Second, clk)
	get(t, c, o.srv.URL+"/repos/a/b")
	get(t, c, o.srv.URL+"/repos/c/d")
	clk.now = clk.now.Add(time.Second)
	resp, _ := get(t, c, o.srv.URL+"/repos/a/b")
	if resp.Header.Get(httpcache.FromCacheHeader) != "1" {
		t.Error("answer within the TTL was not served from the cache")
	}
	if full, notMod := o.counts(); full != 2 || notMod != 0 {
		t.Fatalf("origin: %d full, %d 304s; want 2, 0", full, notMod)
	}

	// A write to a/b: a/b revalidates (and sees the new body), c/d stays fresh.
	clk.now = clk.now.Add(time.Second)
	req, _ := http.NewRequest(http.MethodPatch, o.srv.URL+"/repos/a/b", strings.NewReader("{}"))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	clk.now = clk.now.Add(time.Second)
	if _, body := get(t, c, o.srv.URL+"/repos/a/b"); body != `{"v":2}` {
		t.Errorf("read after write = %s, want the new body", body)
	}
	if resp, _ := get(t, c, o.srv.URL+"/repos/c/d"); resp.Header.Get(httpcache.FromCacheHeader) != "1" {
		t.Error("a write to another repository invalidated c/d")
	}

	// Past the TTL: revalidated (304), not refetched.
	clk.now = clk.now.Add(time.Minute)
	get(t, c, o.srv.URL+"/repos/c/d")
	if _, notMod := o.counts(); notMod != 1 {
		t.Errorf("stale answer was not revalidated: %d 304s", notMod)
	}
}

func TestRevalidatePredicateAndAcceptAndNamespace(t *testing.T) {
	o := newOrigin(t)
	o.bodies["/notifications"] = `[]`
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	shared := newCache(t)
	c := newClient(t, o, shared, "conn-a", time.Minute, clk)
	get(t, c, o.srv.URL+"/notifications")
	if resp, _ := get(t, c, o.srv.URL+"/notifications"); resp.Header.Get(httpcache.FromCacheHeader) != "" {
		t.Error("notifications were served without revalidation")
	}
	get(t, c, o.srv.URL+"/repos/a/b", "Accept", "application/vnd.github.diff")
	if _, body := get(t, c, o.srv.URL+"/repos/a/b"); body != `{"v":1}` {
		t.Error("different Accept shared an entry")
	}
	before, _ := o.counts()
	other := newClient(t, o, shared, "conn-b", time.Minute, clk)
	if resp, _ := get(t, other, o.srv.URL+"/repos/a/b"); resp.Header.Get(httpcache.FromCacheHeader) != "" {
		t.Error("another namespace (credential) was served this one's answer")
	}
	if after, _ := o.counts(); after != before+1 {
		t.Errorf("origin answers %d -> %d", before, after)
	}
}

func TestLargeBodiesPassThroughUncached(t *testing.T) {
	o := newOrigin(t)
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	c := newClient(t, o, newCache(t), "conn", time.Minute, clk)
	for range 2 {
		if _, body := get(t, c, o.srv.URL+"/big"); len(body) != 2048 {
			t.Fatalf("big body cut to %d bytes", len(body))
		}
	}
	if full, _ := o.counts(); full != 2 {
		t.Errorf("origin sent %d full answers; a body over max_entry_bytes must not be cached", full)
	}
}

func TestCorruptEntriesAreMisses(t *testing.T) {
	o := newOrigin(t)
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	c := newCache(t)
	client := newClient(t, o, c, "conn", time.Minute, clk)
	get(t, client, o.srv.URL+"/repos/a/b")
	// Overwrite every key with junk through the cache itself.
	key := "conn|||" + o.srv.URL + "/repos/a/b"
	if _, ok, _ := c.Get(t.Context(), key); !ok {
		t.Fatalf("entry not under the expected key %q", key)
	}
	_ = c.Set(t.Context(), key, []byte{9, 9, 9}, time.Minute)
	if _, body := get(t, client, o.srv.URL+"/repos/a/b"); body != `{"v":1}` {
		t.Errorf("body after corrupt entry: %q", body)
	}
}
