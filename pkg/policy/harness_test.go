package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/pkg/policy/audit"
)

// The tools of the test server: one of each effect and one whose output
// holds personal data and credentials.

type noteIn struct {
	ID string `json:"id" jsonschema:"note id"`
}
type noteOut struct {
	Text string `json:"text"`
}
type addIn struct {
	Text string `json:"text" jsonschema:"note text"`
}
type addOut struct {
	ID string `json:"id"`
}
type deleteOut struct {
	Deleted int `json:"deleted"`
}
type customerOut struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
	Token string `json:"token"`
}

// notes is the state the tools change, so tests can see what ran.
type notes struct {
	mu      sync.Mutex
	added   int
	deleted int
}

func (n *notes) counts() (added, deleted int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.added, n.deleted
}

const customerToken = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"

func toolsModule(n *notes) fx.Option {
	spec := func(name string, eff core.Effect, class core.Classification) core.ToolSpec {
		return core.ToolSpec{Name: name, Title: strings.ReplaceAll(name, "_", " "), Description: "test tool " + name,
			Toolset: "notes", Effect: eff, Idempotent: core.No, OpenWorld: core.No, Classification: class, Permissions: core.NoPermissions}
	}
	return fx.Options(
		core.AsToolset(core.Toolset{Name: "notes", Description: "notes", Default: true}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(spec("read_note", core.ReadOnly, core.Internal), func(_ context.Context, _ *core.Call, in noteIn) (noteOut, error) {
				return noteOut{Text: "note " + in.ID}, nil
			})
		}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(spec("add_note", core.Additive, core.Internal), func(_ context.Context, _ *core.Call, in addIn) (addOut, error) {
				n.mu.Lock()
				defer n.mu.Unlock()
				n.added++
				return addOut{ID: fmt.Sprint(n.added)}, nil
			})
		}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(spec("delete_note", core.Destructive, core.Internal), func(_ context.Context, _ *core.Call, in noteIn) (deleteOut, error) {
				n.mu.Lock()
				defer n.mu.Unlock()
				n.deleted++
				return deleteOut{Deleted: n.deleted}, nil
			})
		}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(spec("get_customer", core.ReadOnly, core.Confidential), func(_ context.Context, _ *core.Call, in noteIn) (customerOut, error) {
				return customerOut{Name: "Ada " + in.ID, Email: "ada@example.com", Phone: "+44 20 7946 0958", Token: customerToken}, nil
			})
		}),
		core.AsResource(func() *core.ResourceDef {
			return &core.ResourceDef{
				Resource:       &mcp.Resource{URI: "notes://customers/ada", Name: "ada", MIMEType: "text/plain"},
				Classification: core.Confidential,
				Handler: func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
					return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: "Ada <ada@example.com>"}}}, nil
				},
			}
		}),
		core.AsPrompt(func() *core.PromptDef {
			return &core.PromptDef{
				Prompt:         &mcp.Prompt{Name: "customer_brief", Description: "brief on a customer", Arguments: []*mcp.PromptArgument{{Name: "id"}}},
				Classification: core.Confidential,
				Handler: func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
					if req.Params.Arguments["id"] != "ada" {
						return nil, fmt.Errorf("customer %q not found", req.Params.Arguments["id"])
					}
					return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user",
						Content: &mcp.TextContent{Text: "Brief on Ada <ada@example.com>"}}}}, nil
				},
			}
		}),
		core.AsServerOption(func() core.ServerOption {
			return func(o *mcp.ServerOptions) {
				o.CompletionHandler = func(_ context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
					return &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{Values: []string{"ada@example.com"}}}, nil
				}
				o.SubscribeHandler = func(context.Context, *mcp.SubscribeRequest) error { return nil }
				o.UnsubscribeHandler = func(context.Context, *mcp.UnsubscribeRequest) error { return nil }
			}
		}),
		core.AsResourceTemplate(func() *core.ResourceTemplateDef {
			return &core.ResourceTemplateDef{
				Template:       &mcp.ResourceTemplate{URITemplate: "notes://public/{id}", Name: "public note"},
				Classification: core.Public,
				Handler: func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
					return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: "write to info@example.com"}}}, nil
				},
			}
		}),
	)
}

// testServer is a running server with the policy module.
type testServer struct {
	h      *coretest.Harness
	enf    *Enforcer
	notes  *notes
	audit  string
	reader *sdkmetric.ManualReader
}

type serverOpts struct {
	// yaml is added to the config; it may set top-level sections other
	// than policy.
	yaml string
	// policy is added under the policy section (indented by the caller's
	// YAML as a block); file and audit default to the test's.
	policyFile string
	policyYAML string
	// stdio principal
	subject string
	groups  []string
	// apiKeys are API key ids accepted over HTTP (see apiKey).
	apiKeys []string
	// http, when set, serves HTTP with this http section (a YAML flow map).
	http string
	// modules are added to the server (tools beyond toolsModule's).
	modules []fx.Option
}

func startServer(t *testing.T, o serverOpts) *testServer {
	t.Helper()
	s := &testServer{notes: &notes{}, reader: sdkmetric.NewManualReader()}
	s.audit = filepath.Join(t.TempDir(), "audit.jsonl")
	if o.policyFile == "" {
		o.policyFile = "testdata/server.yaml"
	}
	abs, _ := filepath.Abs(o.policyFile)
	if o.subject == "" {
		o.subject = "local-user"
	}
	groups, _ := json.Marshal(o.groups)
	yaml := fmt.Sprintf("auth:\n  stdio: {subject: %s, groups: %s}\n", o.subject, groups)
	if len(o.apiKeys) > 0 {
		yaml += apiKeyYAML(o.apiKeys...)
	}
	if o.http != "" {
		yaml += "transport: http\nhttp: " + o.http + "\n"
	}
	yaml += fmt.Sprintf("policy:\n  file: %s\n  audit:\n    sinks: [{type: file, path: %s}]\n", abs, s.audit)
	for line := range strings.SplitSeq(o.policyYAML, "\n") {
		if line != "" {
			yaml += "  " + line + "\n"
		}
	}
	yaml += o.yaml
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(s.reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	s.h = coretest.Start(t, coretest.Options{YAML: yaml, Modules: []fx.Option{
		toolsModule(s.notes),
		fx.Options(o.modules...),
		Module,
		fx.Provide(func() metric.MeterProvider { return mp }),
		fx.Populate(&s.enf),
	}})
	return s
}

// call calls a tool and returns the result.
func call(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("calling %s: %v", tool, err)
	}
	return res
}

// text is the shared result helper under the name these tests use.
var text = coretest.Text

// records waits until the audit file holds n records and returns them.
func (s *testServer) records(t *testing.T, n int) []audit.Record {
	t.Helper()
	var out []audit.Record
	waitFor(t, func() bool {
		out = readRecords(t, s.audit)
		return len(out) >= n
	})
	if len(out) != n {
		t.Fatalf("%d audit records, want %d", len(out), n)
	}
	return out
}

func readRecords(t *testing.T, path string) []audit.Record {
	recs, err := audit.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 20s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// metricValue sums a counter or gauge's data points whose attributes
// include every attr ("key=value").
func (s *testServer) metricValue(t *testing.T, name string, attrs ...string) (int64, bool) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := s.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var sum int64
	found := false
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			var points []metricdata.DataPoint[int64]
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				points = d.DataPoints
			case metricdata.Gauge[int64]:
				points = d.DataPoints
			}
		point:
			for _, p := range points {
				for _, a := range attrs {
					k, v, _ := strings.Cut(a, "=")
					got, ok := p.Attributes.Value(attribute.Key(k))
					if !ok || got.String() != v {
						continue point
					}
				}
				sum += p.Value
				found = true
			}
		}
	}
	return sum, found
}

func apiKeyYAML(ids ...string) string {
	var b strings.Builder
	b.WriteString("  api_keys:\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "    - {id: %s, sha256: %s}\n", id, authn.HashAPIKey(apiKey(id)))
	}
	return b.String()
}

func apiKey(id string) string { return "mcpk_" + id + "_0123456789abcdef" }

type fxOption = fx.Option

// verifyFile checks an audit file's chain; it returns the first break.
func verifyFile(path string) (*audit.Break, error) {
	rep, err := audit.VerifyFiles(path)
	return rep.Broken, err
}
