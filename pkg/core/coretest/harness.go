// Package coretest runs a server built on pkg/core inside a test: the whole
// fx graph with its lifecycle, and an in-memory MCP client session (or the
// real HTTP listener on a free port). Every server's tests use it, together
// with [CheckTools], the guard test over all of a server's tools.
package coretest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
)

// Options configure a test server.
type Options struct {
	// YAML is config layered over the core defaults, as a config file would be.
	YAML string
	// Env replaces the process environment for config lookups.
	Env map[string]string
	// Config adjusts the decoded core config before validation.
	Config func(*config.Config)
	// Modules are the fx options under test (a domain module, observability...).
	Modules []fx.Option
}

// Harness is a running test server.
type Harness struct {
	Server  *core.Server
	Catalog *core.Catalog
	Config  config.Config
	app     *fx.App
	ln      *core.Listener
	logs    *syncBuffer
	stdin   *io.PipeWriter

	stopOnce sync.Once
	prebound *core.Prebound
}

// closeListener releases a reserved port the app never served.
func (h *Harness) closeListener() {
	if h.prebound != nil {
		_ = h.prebound.Listener.Close()
	}
}

// Start builds and starts the server; it is stopped when the test ends.
// With the default stdio transport nothing is read from the process's
// stdin: use [Harness.Connect] for an in-memory session.
func Start(t testing.TB, o Options) *Harness {
	t.Helper()
	// Every structured tool result is checked against the tool's output
	// schema; a mismatch fails the test that made the call.
	checker := &resultChecker{resolved: map[string]*jsonschema.Resolved{}, report: t.Errorf}
	o.Modules = append(append([]fx.Option(nil), o.Modules...),
		fx.Populate(&checker.catalog),
		core.AsMiddleware(checker.middleware))
	h, err := New(o)
	if err != nil {
		t.Fatalf("building server: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.app.Start(ctx); err != nil {
		t.Fatalf("starting server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := h.Stop(ctx); err != nil {
			t.Errorf("stopping server: %v", err)
		}
	})
	return h
}

// Stop stops the server (draining as on SIGTERM). Later calls do nothing.
func (h *Harness) Stop(ctx context.Context) error {
	var err error
	h.stopOnce.Do(func() {
		err = h.app.Stop(ctx)
		_ = h.stdin.Close()
		h.closeListener()
	})
	return err
}

// New builds the server without starting it, reporting construction errors.
func New(o Options) (*Harness, error) {
	lookup := func(k string) (string, bool) { v, ok := o.Env[k]; return v, ok }
	doc, err := config.Parse(lookup, []byte(o.YAML))
	if err != nil {
		return nil, err
	}
	cfg := config.NewDefaultConfig()
	cfg.Server.Name = "test"
	if err := cfg.Decode(doc); err != nil {
		return nil, err
	}
	if o.Config != nil {
		o.Config(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	prebound, err := core.ReserveAddr(&cfg)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	h := &Harness{Config: cfg, logs: &syncBuffer{}, stdin: pw, prebound: prebound}
	opts := append([]fx.Option{
		fx.Supply(cfg, doc, core.BuildInfo{Name: "test", Version: "test"}, core.Streams{In: pr, Out: io.Discard, Err: h.logs}),
		fx.Supply(prebound),
		core.Module,
		fx.Populate(&h.Server, &h.Catalog, &h.ln),
		fx.NopLogger,
	}, o.Modules...)
	h.app = fx.New(opts...)
	if err := h.app.Err(); err != nil {
		h.closeListener()
		return nil, err
	}
	if unused := doc.Unused(); len(unused) > 0 {
		h.closeListener()
		return nil, &unusedError{unused}
	}
	return h, nil
}

type unusedError struct{ sections []string }

func (e *unusedError) Error() string { return "unknown config sections: " + joinComma(e.sections) }

func joinComma(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(x)
	}
	return b.String()
}

// Connect opens an in-memory client session to the server.
func (h *Harness) Connect(t testing.TB, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	ct, st := mcp.NewInMemoryTransports()
	ctx := context.Background()
	if _, err := h.Server.MCP.Connect(ctx, st, nil); err != nil {
		t.Fatalf("server connect: %v", err)
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "coretest", Version: "test"}, opts)
	cs, err := c.Connect(ctx, ct, nil)
	if err != nil {
		t.Fatalf("client connect: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// URL is the MCP endpoint of an HTTP test server.
func (h *Harness) URL() string {
	return "http://" + h.ln.Addr() + h.Config.HTTP.Path
}

// BaseURL is scheme://host:port of an HTTP test server.
func (h *Harness) BaseURL() string { return "http://" + h.ln.Addr() }

// Logs returns everything the server logged so far.
func (h *Harness) Logs() string { return h.logs.String() }

// ConnectHTTP opens a Streamable HTTP client session using client (which can
// add an Authorization header), speaking protocol 2025-11-25: an initialize
// handshake and, unless the server is stateless, a session.
func (h *Harness) ConnectHTTP(t testing.TB, client *http.Client) *mcp.ClientSession {
	t.Helper()
	return h.ConnectHTTPVersion(t, client, "2025-11-25")
}

// ConnectHTTPVersion is [Harness.ConnectHTTP] asking for protocol version.
// From 2026-07-28 the client discovers the server (server/discover) and
// sends its version and capabilities with every request, with no session.
func (h *Harness) ConnectHTTPVersion(t testing.TB, client *http.Client, version string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "coretest", Version: "test"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: h.URL(), HTTPClient: client}, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("http client connect: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// BearerClient returns an HTTP client that sends token on every request.
func BearerClient(token string) *http.Client {
	return &http.Client{Transport: headerTransport{name: "Authorization", value: "Bearer " + token}}
}

type headerTransport struct{ name, value string }

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h.name, h.value)
	return http.DefaultTransport.RoundTrip(r)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
