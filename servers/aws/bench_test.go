package aws_test

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
	"github.com/mcpfleet/mcpfleet/servers/aws"
	"github.com/mcpfleet/mcpfleet/servers/aws/internal/fakeaws"
)

// BenchmarkReadTool drives describe_instances over Streamable HTTP from 16
// sessions (bench/loadgen, raw JSON-RPC) through the full production
// chain: API-key authentication, observability (tracing and Prometheus
// metrics), policy (authorization, rate limits) with audit records written
// to a file, the AWS module and the SDK (serializer, SigV4 signer,
// retryer, XML parser) over core's upstream transport, against the
// loopback fake EC2. Run it alone:
//
//	go test -run '^$' -bench BenchmarkReadTool -benchtime 1x ./servers/aws/
//
// AWS_BENCH_DURATION (default 5s) sets each measurement's length.
// Sub-benchmarks: echo (the trivial bench/echo tool in the same server and
// chain: the stack's ceiling on this machine at this moment), default_chain
// (account with credentials from the environment) and assumed_role (an
// account whose role is assumed per caller: the cached session is reused).
// cpu-us/call is the process's CPU time per call (server, load driver and
// fake together).
func BenchmarkReadTool(b *testing.B) {
	duration := 5 * time.Second
	if v := os.Getenv("AWS_BENCH_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		duration = d
	}
	for _, mode := range []struct{ name, tool, args string }{
		{"echo", "echo", `{"message":"hi"}`},
		{"default_chain", "describe_instances", `{"max_results":2}`},
		{"assumed_role", "describe_instances", `{"account":"prod","max_results":2}`},
	} {
		b.Run(mode.name, func(b *testing.B) {
			url, key := startBenchServer(b)
			client := loadgen.NewClient(16)
			defer client.CloseIdleConnections()
			loadgen.Bench(b, client, loadgen.Target{URL: url, Token: key}, loadgen.Load{
				Sessions: 16, Duration: duration, Tool: mode.tool, Args: json.RawMessage(mode.args),
			})
		})
	}
}

func startBenchServer(b *testing.B) (url, key string) {
	b.Helper()
	awsEnv(b)
	fake := fakeaws.New(b)
	key = "mcpk_bench_key_0123456789abcdef0123456789"
	audit := filepath.Join(b.TempDir(), "audit.jsonl")
	yaml := fmt.Sprintf(`server: {name: aws}
transport: http
http: {addr: "127.0.0.1:0"}
auth:
  api_keys: [{id: bench, sha256: %q}]
log: {level: warn}
policy:
  audit:
    sinks: [{type: file, path: %q}]
aws:
  accounts:
    dev: {regions: [eu-west-1], default: true, endpoints: %s}
    prod:
      regions: [eu-west-1]
      assume_role: {role_arn: "arn:aws:iam::222222222222:role/mcp-read"}
      endpoints: %s
`, authn.HashAPIKey(key), audit, fake.EndpointsYAML(), fake.EndpointsYAML())
	h := coretest.Start(b, coretest.Options{YAML: yaml, Modules: []fx.Option{aws.Module, echo.Module, observability.Module, policy.Module}})
	return h.URL(), key
}
