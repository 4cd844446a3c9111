package observability_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/fx"
	"go.uber.org/goleak"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/pkg/observability"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The test server's tools, prompt and resource: small, but real core
// definitions, so requests take the production path.

type echoIn struct {
	Text string `json:"text" jsonschema:"text to echo back"`
}

type echoOut struct {
	Text string `json:"text"`
}

func testSpec(name, title string) core.ToolSpec {
	return core.ToolSpec{
		Name: name, Title: title, Description: title + " (test tool).", Toolset: "test",
		Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.No,
		Classification: core.Public, Permissions: core.NoPermissions,
	}
}

func newEchoTool(logger *slog.Logger) *core.ToolDef {
	return core.NewTool(testSpec("echo", "Echo"), func(ctx context.Context, _ *core.Call, in echoIn) (echoOut, error) {
		logger.InfoContext(ctx, "echo called", "chars", len(in.Text))
		return echoOut(in), nil
	})
}

func newFailTool() *core.ToolDef {
	return core.NewTool(testSpec("fail", "Fail"), func(context.Context, *core.Call, echoIn) (echoOut, error) {
		return echoOut{}, errors.New("the upstream said no; try another text")
	})
}

const testResourceURI = "test://static-text"

func newTestResource() *core.ResourceDef {
	return &core.ResourceDef{
		Resource:       &mcp.Resource{URI: testResourceURI, Name: "static", MIMEType: "text/plain"},
		Classification: core.Public,
		Handler: func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: "hello"}}}, nil
		},
	}
}

func newTestPrompt() *core.PromptDef {
	return &core.PromptDef{
		Prompt: &mcp.Prompt{Name: "greet", Description: "Greets."},
		Handler: func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: "hi"}}}}, nil
		},
	}
}

// testServer is a core server with observability.Module, whose spans go to
// an in-memory exporter and whose metrics are read by a manual reader.
type testServer struct {
	*coretest.Harness
	spans   *tracetest.InMemoryExporter
	metrics *sdkmetric.ManualReader
}

type serverOptions struct {
	yaml   string
	http   bool
	env    map[string]string // the OTEL_* environment the module sees
	config func(*config.Config)
	extra  []fx.Option
}

const testAPIKey = "mcpk_observability_test_key"

func startServer(t *testing.T, o serverOptions) *testServer {
	t.Helper()
	ts := &testServer{spans: tracetest.NewInMemoryExporter(), metrics: sdkmetric.NewManualReader()}
	modules := append([]fx.Option{observability.Module},
		// A simple (synchronous) processor: a span is in the exporter as
		// soon as the response reaches the client.
		observability.AsSpanProcessor(func() sdktrace.SpanProcessor { return sdktrace.NewSimpleSpanProcessor(ts.spans) }),
		observability.AsMetricReader(func() *sdkmetric.ManualReader { return ts.metrics }),
		core.AsToolset(core.Toolset{Name: "test", Description: "Test tools.", Default: true}),
		core.AsTool(newEchoTool),
		core.AsTool(newFailTool),
		core.AsResource(newTestResource),
		core.AsPrompt(newTestPrompt),
	)
	ts.Harness = coretest.Start(t, coretest.Options{
		YAML: o.yaml,
		Env:  o.env,
		Config: func(c *config.Config) {
			if o.http {
				c.Transport = config.TransportHTTP
				c.HTTP.Addr = "127.0.0.1:0"
				c.Auth.APIKeys = []config.APIKey{{ID: "tester", SHA256: authn.HashAPIKey(testAPIKey)}}
			}
			if o.config != nil {
				o.config(c)
			}
		},
		Modules: append(modules, o.extra...),
	})
	return ts
}

// spanNamed returns the one ended span with that name.
func (ts *testServer) spanNamed(t *testing.T, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range ts.spans.GetSpans() {
		if s.Name == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		var names []string
		for _, s := range ts.spans.GetSpans() {
			names = append(names, s.Name)
		}
		t.Fatalf("want one span %q, got %d; spans: %q", name, len(found), names)
	}
	return found[0]
}

// collect reads the metrics of this server.
func (ts *testServer) collect(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := ts.metrics.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collecting metrics: %v", err)
	}
	return rm
}

// headerClient sends the API key and extra headers on every request.
type headerClient struct {
	headers http.Header
}

func (h headerClient) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+testAPIKey)
	for k, v := range h.headers {
		r.Header[k] = v
	}
	return http.DefaultTransport.RoundTrip(r)
}
