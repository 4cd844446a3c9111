package fleet

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/redis/go-redis/v9"
)

const (
	postgresURL = "postgres://127.0.0.1:5432/test?sslmode=disable"
	redisURL    = "redis://127.0.0.1:6379/0"
)

// needServices skips (or, with CI=true, fails) when PostgreSQL or Redis is
// not running.
func needServices(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	miss := func(what string, err error) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required with CI=true: %v", what, err)
		}
		t.Skipf("start %s to run this test: %v", what, err)
	}
	conn, err := pgx.Connect(ctx, postgresURL)
	if err != nil {
		miss("PostgreSQL on 127.0.0.1:5432 (database test)", err)
	}
	conn.Close(ctx)
	opt, _ := redis.ParseURL(redisURL)
	rc := redis.NewClient(opt)
	defer rc.Close()
	if err := rc.Ping(ctx).Err(); err != nil {
		miss("Redis on 127.0.0.1:6379", err)
	}
}

func randomName(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// freshDatabase creates a database of its own for the test (other tests
// share the server) and drops it afterwards.
func freshDatabase(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	name := "mcpfleet_replicas_" + randomName(t)
	conn, err := pgx.Connect(ctx, postgresURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, postgresURL)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return "postgres://127.0.0.1:5432/" + name + "?sslmode=disable"
}

// replica is one mcp-crm process.
type replica struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
}

// startReplica runs mcp-crm over HTTP on a port the kernel picks (read back
// from its "listening" log line), stateless, with the shared database,
// Redis-backed limits and the test policy.
func startReplica(t *testing.T, env []string) *replica {
	t.Helper()
	cmd := exec.Command(filepath.Join(binaries(t), "mcp-crm"), "--transport", "http", "--addr", "127.0.0.1:0")
	cmd.Env = append(fleetEnv(t), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replica{cmd: cmd, done: make(chan struct{})}
	addrCh := make(chan string, 1)
	var logs strings.Builder
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			mu.Lock()
			logs.WriteString(sc.Text() + "\n")
			mu.Unlock()
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if !sent && json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" {
				addrCh <- rec.Addr
				sent = true
			}
		}
		_ = cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	select {
	case r.addr = <-addrCh:
	case <-r.done:
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("replica exited:\n%s", logs.String())
	case <-time.After(time.Minute):
		t.Fatal("replica did not start listening")
	}
	// Ready means the store is open (and the demo data loaded).
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + r.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s never ready", r.addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// roundRobin is a loopback proxy that sends each request to the next
// replica in turn and counts the MCP POSTs each one served. POSTs take
// turns on their own, so that a client's GET (the 2025-11-25 standalone
// stream, which a stateless server refuses) does not put two calls on
// one replica.
type roundRobin struct {
	next, nextPost atomic.Uint64
	proxies        []*httputil.ReverseProxy
	posts          []atomic.Int64
}

func newRoundRobin(t *testing.T, addrs ...string) *roundRobin {
	rr := &roundRobin{posts: make([]atomic.Int64, len(addrs))}
	for _, a := range addrs {
		u, _ := url.Parse("http://" + a)
		p := httputil.NewSingleHostReverseProxy(u)
		p.FlushInterval = -1 // stream SSE as it comes
		rr.proxies = append(rr.proxies, p)
	}
	return rr
}

func (rr *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var i int
	if r.Method == http.MethodPost {
		i = int(rr.nextPost.Add(1)-1) % len(rr.proxies)
		rr.posts[i].Add(1)
	} else {
		i = int(rr.next.Add(1)-1) % len(rr.proxies)
	}
	rr.proxies[i].ServeHTTP(w, r)
}

// protocolCase connects a client speaking one protocol revision.
type protocolCase struct {
	name    string
	version string // what the client must end up speaking
	connect func(ctx context.Context, endpoint string) (*mcp.ClientSession, error)
}

// protocolCases are the revisions the replicas must serve without
// stickiness: 2025-11-25 with a stateless server (initialize, no session
// id), and 2026-07-28, which has no initialize and no sessions at all
// (server/discover; version and capabilities in every request's _meta).
var protocolCases = []protocolCase{{
	name:    "2025-11-25 stateless",
	version: "2025-11-25",
	connect: func(ctx context.Context, endpoint string) (*mcp.ClientSession, error) {
		client := mcp.NewClient(&mcp.Implementation{Name: "replicas-test", Version: "1"}, nil)
		// Pinned: go-sdk's client otherwise asks for the newest revision
		// the server supports, and this case would test 2026-07-28 twice.
		return client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	},
}, {
	name:    "2026-07-28",
	version: "2026-07-28",
	connect: func(ctx context.Context, endpoint string) (*mcp.ClientSession, error) {
		client := mcp.NewClient(&mcp.Implementation{Name: "replicas-test", Version: "1"}, nil)
		return client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint}, &mcp.ClientSessionOptions{ProtocolVersion: "2026-07-28"})
	},
}}

// TestReplicasBehindRoundRobin runs two CRM replicas on one PostgreSQL
// database and one Redis behind a round-robin proxy: calls alternate
// between them with no session error, and a Redis-backed quota of six
// searches holds across both (each replica alone would allow six).
func TestReplicasBehindRoundRobin(t *testing.T) {
	needServices(t)
	policy, err := filepath.Abs(filepath.Join("testdata", "replicas-policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pc := range protocolCases {
		t.Run(pc.name, func(t *testing.T) {
			dsn := freshDatabase(t)
			prefix := "mcpfleet-replicas-" + randomName(t) + ":"
			t.Cleanup(func() { cleanRedis(prefix) })
			env := []string{
				"MCPFLEET_AUTH_DISABLED=true",
				"MCPFLEET_HTTP_STATELESS=true",
				"MCPFLEET_CRM_DRIVER=postgres",
				"MCPFLEET_CRM_DSN=" + dsn,
				"MCPFLEET_POLICY_FILE=" + policy,
				"MCPFLEET_POLICY_RATE_LIMIT_BACKEND=redis",
				"MCPFLEET_POLICY_RATE_LIMIT_REDIS_URL=" + redisURL,
				"MCPFLEET_POLICY_RATE_LIMIT_KEY_PREFIX=" + prefix,
				"MCPFLEET_POLICY_APPROVAL_HMAC_KEY=replicas-test-key-shared-by-both-replicas",
			}
			// The first replica loads the demo data; the second finds it.
			a := startReplica(t, append(env, "MCPFLEET_CRM_LOAD_DEMO_DATA=true"))
			b := startReplica(t, append(env, "MCPFLEET_CRM_LOAD_DEMO_DATA=false"))
			rr := newRoundRobin(t, a.addr, b.addr)
			proxy := httptest.NewServer(rr)
			defer proxy.Close()

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cs, err := pc.connect(ctx, proxy.URL+"/mcp")
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			if v := cs.InitializeResult().ProtocolVersion; v != pc.version {
				t.Fatalf("the client speaks %q, want %q", v, pc.version)
			}
			if cs.ID() != "" {
				t.Errorf("session id %q: the replicas must not depend on one", cs.ID())
			}

			// Reads that no limit touches: every one answers, whichever
			// replica gets it.
			for i := range 6 {
				res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_record", Arguments: map[string]any{"type": "companies", "id": 1}})
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				if res.IsError {
					t.Fatalf("call %d: tool error %v", i, text(res))
				}
			}
			// The quota: six searches in all, across both replicas.
			ok, limited := 0, 0
			for i := range 10 {
				res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search_records", Arguments: map[string]any{"type": "companies"}})
				switch {
				case err != nil && strings.Contains(strings.ToLower(err.Error()), "rate"):
					limited++
				case err != nil:
					t.Fatalf("search %d: %v", i, err)
				case res.IsError && strings.Contains(strings.ToLower(text(res)), "rate"):
					limited++
				case res.IsError:
					t.Fatalf("search %d: %s", i, text(res))
				default:
					ok++
				}
			}
			if ok != 6 || limited != 4 {
				t.Errorf("searches: %d answered, %d limited; want 6 and 4 (a per-replica limit would answer more)", ok, limited)
			}
			pa, pb := rr.posts[0].Load(), rr.posts[1].Load()
			if pa < 8 || pb < 8 || pa-pb > 1 || pb-pa > 1 {
				t.Errorf("POSTs per replica: %d and %d; want them alternating", pa, pb)
			}
			t.Logf("POSTs per replica: %d / %d; searches answered %d, limited %d", pa, pb, ok, limited)
		})
	}
}

func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, " ")
}

// cleanRedis removes the test's keys.
func cleanRedis(prefix string) {
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return
	}
	rc := redis.NewClient(opt)
	defer rc.Close()
	ctx := context.Background()
	iter := rc.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		rc.Del(ctx, iter.Val())
	}
}
