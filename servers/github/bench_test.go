package github_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/bench/echo"
	"github.com/mcpfleet/mcpfleet/bench/loadgen"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/pkg/observability"
	"github.com/mcpfleet/mcpfleet/pkg/policy"
	"github.com/mcpfleet/mcpfleet/servers/github"
	"github.com/mcpfleet/mcpfleet/servers/github/internal/fakegithub"
)

// BenchmarkReadTool drives get_repository over Streamable HTTP from 16
// sessions (bench/loadgen, raw JSON-RPC), through the full production
// chain: API-key authentication, observability (tracing and Prometheus
// metrics), policy (authorization, rate limits) with audit records written
// to a file, the GitHub module and go-github over core's upstream
// transport, against the loopback fake GitHub. Run it alone:
//
//	go test -run '^$' -bench BenchmarkReadTool -benchtime 1x ./servers/github/
//
// GITHUB_BENCH_DURATION (default 5s) sets each measurement's length.
// Sub-benchmarks: echo (the trivial bench/echo tool in the same server and
// chain: the stack's ceiling on this machine at this moment, since
// absolute figures drift on shared machines), cold (cache off: every call
// is a full GitHub request),
// etag (every call revalidates; GitHub answers 304) and warm (answers
// served from the cache within its TTL). cpu-us/call is the process's CPU
// time per call (server, load driver and fake GitHub together), steadier
// than calls/s on a shared machine. The connection's client-side
// rate limit (15 requests/s by default, to stay under GitHub's secondary
// limits) is off here: this measures the server, not the limiter.
func BenchmarkReadTool(b *testing.B) {
	duration := 5 * time.Second
	if v := os.Getenv("GITHUB_BENCH_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		duration = d
	}
	for _, mode := range []struct{ name, cache, tool, args string }{
		{"echo", "{enabled: false}", "echo", `{"message":"hi"}`},
		{"cold", "{enabled: false}", "get_repository", `{"owner":"octo","repo":"hello"}`},
		{"etag", "{enabled: true, ttl: 0s}", "get_repository", `{"owner":"octo","repo":"hello"}`},
		{"warm", "{enabled: true, ttl: 10m}", "get_repository", `{"owner":"octo","repo":"hello"}`},
	} {
		b.Run(mode.name, func(b *testing.B) {
			url, key := startBenchServer(b, mode.cache)
			client := loadgen.NewClient(16)
			defer client.CloseIdleConnections()
			loadgen.Bench(b, client, loadgen.Target{URL: url, Token: key}, loadgen.Load{
				Sessions: 16, Duration: duration, Tool: mode.tool, Args: json.RawMessage(mode.args),
			})
		})
	}
}

func startBenchServer(b *testing.B, cache string) (url, key string) {
	b.Helper()
	fake := fakegithub.New(b, fakegithub.Options{QuotaLimit: 100_000_000})
	key = "mcpk_bench_key_0123456789abcdef0123456789"
	audit := filepath.Join(b.TempDir(), "audit.jsonl")
	yaml := fmt.Sprintf(`server: {name: github}
transport: http
http: {addr: "127.0.0.1:0"}
auth:
  api_keys: [{id: bench, sha256: %q}]
log: {level: warn}
policy:
  audit:
    sinks: [{type: file, path: %q}]
github:
  connections:
    main:
      base_url: %s
      token: %s
      upstream: {rate_limit: {requests_per_second: 0}}
  cache: %s
`, authn.HashAPIKey(key), audit, fake.URL(), fakegithub.Token, cache)
	h := coretest.Start(b, coretest.Options{YAML: yaml, Modules: []fx.Option{github.Module, echo.Module, observability.Module, policy.Module}})
	return h.URL(), key
}
