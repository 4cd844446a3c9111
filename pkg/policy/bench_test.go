package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

// generatedPolicy is a 200-rule document shaped like a large
// organisation's: 20 roles, rules over servers, toolsets, tool patterns,
// annotations and classifications, a tenth of them with CEL conditions.
func generatedPolicy(tb testing.TB, rules int) *Document {
	tb.Helper()
	var b strings.Builder
	b.WriteString("version: 1\ndefault: deny\nroles:\n")
	for i := range 20 {
		fmt.Fprintf(&b, "  - {name: role%d, clearance: internal, members: [{groups: [g%d]}, {api_keys: [key%d]}]}\n", i, i, i)
	}
	b.WriteString("rules:\n")
	servers := []string{"github", "slack", "aws", "crm"}
	for i := range rules {
		effect := "allow"
		switch {
		case i%7 == 0:
			effect = "deny"
		case i%13 == 0:
			effect = "require_approval"
		}
		fmt.Fprintf(&b, "  - id: rule%d\n    effect: %s\n    roles: [role%d, role%d]\n    servers: [%s]\n", i, effect, i%20, (i+3)%20, servers[(i/4)%4])
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "    tools: [\"tool_%d*\"]\n", i%10)
		case 1:
			fmt.Fprintf(&b, "    toolsets: [set%d]\n", i%5)
		case 2:
			b.WriteString("    annotations: {read_only: true}\n")
		case 3:
			b.WriteString("    classifications: [public, internal]\n")
		}
		if i%10 == 9 {
			fmt.Fprintf(&b, "    condition: 'has(args.n) && args.n > %d'\n", i)
		}
	}
	doc, err := Parse([]byte(b.String()), "generated")
	if err != nil {
		tb.Fatal(err)
	}
	return doc
}

// BenchmarkDecide is one decision over a 200-rule policy for a caller
// with two roles: through the engine's per-tool cache (a gateway or the
// CLI), and with the tool precompiled (what servers do). p50-ns and
// p99-ns are the latency percentiles of single decisions.
func BenchmarkDecide(b *testing.B) {
	doc := generatedPolicy(b, 200)
	eng, err := NewEngine(doc)
	if err != nil {
		b.Fatal(err)
	}
	if len(doc.Rules) != 200 {
		b.Fatal("policy does not have 200 rules")
	}
	p := &authn.Principal{Subject: "u", Groups: []string{"g1", "g5"}, Method: authn.MethodJWT}
	spec := core.ToolSpec{Name: "tool_1_get", Toolset: "set1", Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.No,
		Classification: core.Internal, Permissions: core.NoPermissions}
	args := json.RawMessage(`{"n":3,"q":"abc"}`)
	now := time.Now()
	d := eng.Decide(Input{Principal: p, Server: "github", Tool: spec, Args: args, Time: now})
	b.Logf("decision: allowed=%v rule=%s; rules considered for the tool: %d", d.Allowed, d.Rule, countRules(eng.Tool("github", spec)))

	b.Run("engine", func(b *testing.B) {
		in := Input{Principal: p, Server: "github", Tool: spec, Args: args, Time: now}
		percentiles(b, func() { eng.Decide(in) })
	})
	b.Run("precompiled", func(b *testing.B) {
		tp := eng.CompileTool("github", spec)
		percentiles(b, func() { tp.Decide(p, args, now) })
	})
	b.Run("cel-on-args", func(b *testing.B) {
		// rule49 denies when args.n > 49 for role9 on github toolset set4:
		// every decision for this caller evaluates it (deny rules come
		// first).
		q := &authn.Principal{Subject: "v", Groups: []string{"g9", "g12"}, Method: authn.MethodJWT}
		s := spec
		s.Name, s.Toolset = "tool_9_x", "set4"
		ex := eng.Explain(Input{Principal: q, Server: "github", Tool: s, Args: args, Time: now})
		if !slices.ContainsFunc(ex.Rules, func(r RuleTrace) bool { return r.ID == "rule49" && r.Why == "condition is false" }) {
			b.Fatalf("rule49's condition is not evaluated: %+v", ex.Rules)
		}
		b.Logf("cel-on-args: decision %s by %s", ex.Result, ex.Rule)
		tp := eng.CompileTool("github", s)
		percentiles(b, func() { tp.Decide(q, args, now) })
	})
}

func countRules(tp *ToolPolicy) int { return len(tp.denies) + len(tp.allows) + len(tp.approvals) }

// percentiles runs f b.N times, timing each run, and reports p50 and p99.
func percentiles(b *testing.B, f func()) {
	const maxSamples = 1 << 16
	samples := make([]int64, 0, min(b.N, maxSamples))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%4 == 0 && len(samples) < maxSamples {
			t0 := time.Now()
			f()
			samples = append(samples, int64(time.Since(t0)))
			continue
		}
		f()
	}
	b.StopTimer()
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2]), "p50-ns")
	b.ReportMetric(float64(samples[len(samples)*99/100]), "p99-ns")
}

// BenchmarkMiddlewareAllowedCall is the policy middleware alone on an
// allowed call (decision, audit reservation and record, metrics): next
// returns at once, so the figure is the layer's own cost.
func BenchmarkMiddlewareAllowedCall(b *testing.B) {
	s := startBenchServer(b, true)
	p := &authn.Principal{Subject: "ada", Groups: []string{"admins"}, Method: authn.MethodJWT}
	ctx := authn.WithPrincipal(context.Background(), p)
	result := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: `{"text":"note 1"}`}}}
	h := s.enf.Middleware()(func(context.Context, string, mcp.Request) (mcp.Result, error) { return result, nil })
	req := &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: "read_note", Arguments: json.RawMessage(`{"id":"1"}`)}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res, err := h(ctx, "tools/call", req); err != nil || res.(*mcp.CallToolResult).IsError {
				b.Fatal("call refused")
			}
		}
	})
}

// BenchmarkMiddlewarePromptGet is the decision point on prompts/get
// (decision, audit record, redaction of the result for the caller's
// clearance): the cost of governing a method other than tools/call.
func BenchmarkMiddlewarePromptGet(b *testing.B) {
	s := startBenchServer(b, true)
	p := &authn.Principal{Subject: "ada", Groups: []string{"admins"}, Method: authn.MethodJWT}
	ctx := authn.WithPrincipal(context.Background(), p)
	result := &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: "Brief on Ada"}}}}
	h := s.enf.Middleware()(func(context.Context, string, mcp.Request) (mcp.Result, error) { return result, nil })
	req := &mcp.GetPromptRequest{Params: &mcp.GetPromptParams{Name: "customer_brief", Arguments: map[string]string{"id": "ada"}}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h(ctx, "prompts/get", req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFullCall compares a whole tools/call over an in-memory session
// with and without the policy module (authorization, audit to a file).
func BenchmarkFullCall(b *testing.B) {
	for _, withPolicy := range []bool{false, true} {
		name := map[bool]string{false: "bare", true: "policy"}[withPolicy]
		b.Run(name, func(b *testing.B) {
			s := startBenchServer(b, withPolicy)
			cs := s.h.Connect(b, nil)
			params := &mcp.CallToolParams{Name: "read_note", Arguments: map[string]any{"id": "1"}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if res, err := cs.CallTool(context.Background(), params); err != nil || res.IsError {
					b.Fatal("call failed", err)
				}
			}
		})
	}
}

func startBenchServer(b *testing.B, withPolicy bool) *testServer {
	b.Helper()
	s := &testServer{notes: &notes{}}
	dir := b.TempDir()
	s.audit = filepath.Join(dir, "audit.jsonl")
	abs, _ := filepath.Abs("testdata/server.yaml")
	modules := []fx.Option{toolsModule(s.notes)}
	if withPolicy {
		modules = append(modules, Module, fx.Populate(&s.enf))
	}
	yaml := "auth: {stdio: {subject: ada, groups: [admins]}}\n"
	if withPolicy {
		yaml += fmt.Sprintf("policy:\n  file: %s\n  reload: false\n  audit: {sinks: [{type: file, path: %s}]}\n", abs, s.audit)
	}
	s.h = coretest.Start(b, coretest.Options{YAML: yaml, Modules: modules, Config: func(c *config.Config) { c.Log.Level = "error" }})
	return s
}

// BenchmarkHTTPSessions16 compares 16 concurrent Streamable HTTP sessions
// calling a trivial read-only tool: bare go-sdk against the mcpfleet chain
// (API-key authentication, the policy with an allow rule, audit to a file;
// tracing is the observability module's and not part of this module). The
// Makefile's bench target is the reference comparison; this one keeps the
// policy layer's share visible in this module.
func BenchmarkHTTPSessions16(b *testing.B) {
	type noteArgs struct {
		ID string `json:"id"`
	}
	run := func(b *testing.B, url string, client *http.Client) {
		b.SetParallelism(8) // 16 sessions on 2 CPUs
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			c := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
			cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: client}, nil)
			if err != nil {
				b.Error(err)
				return
			}
			defer cs.Close()
			params := &mcp.CallToolParams{Name: "read_note", Arguments: map[string]any{"id": "1"}}
			for pb.Next() {
				if res, err := cs.CallTool(context.Background(), params); err != nil || res.IsError {
					b.Error("call failed", err)
					return
				}
			}
		})
	}
	b.Run("bare-go-sdk", func(b *testing.B) {
		s := mcp.NewServer(&mcp.Implementation{Name: "bare", Version: "1"}, nil)
		mcp.AddTool(s, &mcp.Tool{Name: "read_note", Description: "read"}, func(_ context.Context, _ *mcp.CallToolRequest, in noteArgs) (*mcp.CallToolResult, noteOut, error) {
			return nil, noteOut{Text: "note " + in.ID}, nil
		})
		srv := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
		defer srv.Close()
		run(b, srv.URL, http.DefaultClient)
	})
	b.Run("mcpfleet-chain", func(b *testing.B) {
		s := &testServer{notes: &notes{}}
		s.audit = filepath.Join(b.TempDir(), "audit.jsonl")
		abs, _ := filepath.Abs("testdata/server.yaml")
		yaml := "transport: http\nhttp: {addr: \"127.0.0.1:0\"}\nauth:\n" + apiKeyYAML("admin-key") +
			fmt.Sprintf("policy:\n  file: %s\n  reload: false\n  audit: {sinks: [{type: file, path: %s}]}\n", abs, s.audit)
		s.h = coretest.Start(b, coretest.Options{YAML: yaml, Modules: []fx.Option{toolsModule(s.notes), Module},
			Config: func(c *config.Config) { c.Log.Level = "error" }})
		run(b, s.h.URL(), coretest.BearerClient(apiKey("admin-key")))
	})
}
