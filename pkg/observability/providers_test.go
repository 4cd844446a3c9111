package observability_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/mcpfleet/mcpfleet/pkg/observability"
)

func lookup(env map[string]string) observability.LookupEnv {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func newProviders(t *testing.T, s observability.Settings) *observability.Providers {
	t.Helper()
	if s.Config == (observability.Config{}) {
		s.Config = observability.NewDefaultConfig()
	}
	if s.Lookup == nil {
		s.Lookup = lookup(nil)
	}
	p, err := observability.NewProviders(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

func TestProvidersWithoutExporters(t *testing.T) {
	p := newProviders(t, observability.Settings{ServerName: "crm"})
	_, span := p.Tracers.Tracer("test").Start(context.Background(), "work")
	// Nowhere to send spans: they are not recorded, but still carry ids
	// for log correlation.
	if span.IsRecording() {
		t.Error("span recorded although no exporter is configured")
	}
	if !span.SpanContext().IsValid() {
		t.Error("span has no trace id")
	}
	span.End()
	if p.Registry() == nil {
		t.Error("no Prometheus registry although metrics are enabled")
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	var nilProviders *observability.Providers
	if err := nilProviders.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown on nil: %v", err)
	}
}

func TestConsoleExporters(t *testing.T) {
	var out syncBuffer
	p := newProviders(t, observability.Settings{
		ServerName: "crm",
		Lookup:     lookup(map[string]string{"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "console"}),
		Console:    &out,
	})
	_, span := p.Tracers.Tracer("test").Start(context.Background(), "console-span")
	if !span.IsRecording() {
		t.Error("span not recorded although an exporter is configured")
	}
	span.End()
	counter, err := p.Meters.Meter("test").Int64Counter("console.counter")
	if err != nil {
		t.Fatal(err)
	}
	counter.Add(context.Background(), 3)
	// Shutdown flushes both.
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"Name":"console-span"`, `"Name":"console.counter"`, `"Value":"crm"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("console output lacks %s:\n%s", want, out.String())
		}
	}
}

// An OTLP collector that is down, or that accepts connections and never
// answers, must delay neither startup nor shutdown beyond the bound.
func TestOTLPExportersToUnreachableCollector(t *testing.T) {
	for _, protocol := range otlpProtocols {
		for _, collector := range []string{"refusing", "silent"} {
			t.Run(protocol+"/"+collector, func(t *testing.T) {
				t.Parallel()
				var endpoint string
				if collector == "refusing" {
					endpoint = closedPort(t)
				} else {
					endpoint = silentListener(t)
				}
				cfg := observability.NewDefaultConfig()
				cfg.ShutdownTimeout = 300 * time.Millisecond
				p, err := observability.NewProviders(observability.Settings{
					Config: cfg,
					Lookup: lookup(map[string]string{
						"OTEL_TRACES_EXPORTER":        "otlp",
						"OTEL_METRICS_EXPORTER":       "otlp",
						"OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
						"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + endpoint,
					}),
				})
				if err != nil {
					t.Fatal(err)
				}
				_, span := p.Tracers.Tracer("test").Start(context.Background(), "unsent")
				span.End()
				counter, _ := p.Meters.Meter("test").Int64Counter("unsent.counter")
				counter.Add(context.Background(), 1)

				// The final flush fails (or times out); what matters is that
				// Shutdown returns. The watchdog is a hang detector, far above
				// the bound, not a timing assertion.
				done := make(chan error, 1)
				go func() { done <- p.Shutdown(context.Background()) }()
				select {
				case err := <-done:
					if err == nil {
						t.Log("shutdown reported no error although nothing was delivered")
					}
				case <-time.After(30 * time.Second):
					t.Fatal("Shutdown did not return within 30s with a 300ms bound")
				}
			})
		}
	}
}

func TestPrometheusRegistry(t *testing.T) {
	p := newProviders(t, observability.Settings{ServerName: "crm"})
	counter, err := p.Meters.Meter("test").Int64Counter("widgets.made")
	if err != nil {
		t.Fatal(err)
	}
	counter.Add(context.Background(), 2)
	rec := httptest.NewRecorder()
	p.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	for _, want := range []string{"widgets_made_total", "go_goroutines", "process_cpu_seconds_total", `target_info{`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("exposition lacks %s", want)
		}
	}

	cfg := observability.NewDefaultConfig()
	cfg.Metrics.Enabled = false
	off := newProviders(t, observability.Settings{Config: cfg})
	if off.Registry() != nil {
		t.Error("registry exists with metrics off")
	}
	rec = httptest.NewRecorder()
	off.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("metrics off: status %d, want 404", rec.Code)
	}
}

func TestServiceResource(t *testing.T) {
	for _, tc := range []struct {
		name        string
		serviceName string
		env         map[string]string
		want        string
	}{
		{"server name", "", nil, "crm"},
		{"config", "crm-eu", nil, "crm-eu"},
		{"resource attributes", "crm-eu", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=crm-attrs"}, "crm-attrs"},
		{"service name env", "crm-eu", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=crm-attrs", "OTEL_SERVICE_NAME": "crm-env"}, "crm-env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The SDK's resource detector reads the process environment.
			for _, k := range []string{"OTEL_RESOURCE_ATTRIBUTES", "OTEL_SERVICE_NAME"} {
				t.Setenv(k, tc.env[k])
			}
			cfg := observability.NewDefaultConfig()
			cfg.ServiceName = tc.serviceName
			reader := sdkmetric.NewManualReader()
			newProviders(t, observability.Settings{
				Config: cfg, ServerName: "crm", Version: "1.2.3",
				MetricReaders: []sdkmetric.Reader{reader},
			})
			var rm metricdata.ResourceMetrics
			if err := reader.Collect(context.Background(), &rm); err != nil {
				t.Fatal(err)
			}
			if got, _ := rm.Resource.Set().Value("service.name"); got.AsString() != tc.want {
				t.Errorf("service.name = %q, want %q", got.AsString(), tc.want)
			}
			if got, _ := rm.Resource.Set().Value("service.version"); got.AsString() != "1.2.3" {
				t.Errorf("service.version = %q", got.AsString())
			}
		})
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// silentListener accepts connections and never answers, like a collector
// that hangs; it closes them when the test ends.
func silentListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
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

// The SDK's environment detector reads OTEL_RESOURCE_ATTRIBUTES; a list it
// cannot parse fails the build of the providers rather than dropping
// attributes silently.
func TestMalformedResourceAttributes(t *testing.T) {
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "team")
	_, err := observability.NewProviders(observability.Settings{Config: observability.NewDefaultConfig(), ServerName: "crm"})
	if err == nil || !strings.Contains(err.Error(), "OTEL_RESOURCE_ATTRIBUTES") {
		t.Fatalf("NewProviders = %v, want an OTEL_RESOURCE_ATTRIBUTES error", err)
	}
}
