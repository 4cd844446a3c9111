package otlp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"

	"github.com/mcpfleet/mcpfleet/pkg/observability/otlp"
	"github.com/mcpfleet/mcpfleet/pkg/observability/otlp/otlptest"
)

// sleeps records the waits between attempts instead of waiting them out.
type sleeps struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays = append(s.delays, d)
	return ctx.Err()
}

func (s *sleeps) get() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

// newSpanExporter returns an exporter to endpoint whose waits are recorded
// in the returned sleeps; it is shut down when the test ends.
func newSpanExporter(t *testing.T, endpoint string, adjust func(*otlp.Config)) (*otlp.SpanExporter, *sleeps) {
	t.Helper()
	cfg := otlp.NewDefaultConfig()
	cfg.Endpoint = endpoint
	if adjust != nil {
		adjust(&cfg)
	}
	exp, err := otlp.NewSpanExporter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &sleeps{}
	otlp.SetSpanSleep(exp, s.sleep)
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp, s
}

func newMetricExporter(t *testing.T, endpoint string, opts otlp.MetricOptions) (*otlp.MetricExporter, *sleeps) {
	t.Helper()
	cfg := otlp.NewDefaultConfig()
	cfg.Endpoint = endpoint
	exp, err := otlp.NewMetricExporter(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := &sleeps{}
	otlp.SetMetricSleep(exp, s.sleep)
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp, s
}

func statusBody(t *testing.T, msg string) []byte {
	t.Helper()
	b, err := proto.Marshal(&spb.Status{Code: 3, Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var protobufHeader = http.Header{"Content-Type": {"application/x-protobuf"}}

func TestSpanExporterRequest(t *testing.T) {
	for _, gz := range []bool{false, true} {
		name := "plain"
		if gz {
			name = "gzip"
		}
		t.Run(name, func(t *testing.T) {
			rcv := otlptest.NewReceiver(t, nil)
			exp, _ := newSpanExporter(t, rcv.URL+"/custom/v1/traces", func(c *otlp.Config) {
				c.Headers = map[string]string{"Authorization": "Bearer s3cret", "x-tenant": "a b,c"}
				if gz {
					c.Compression = otlp.CompressionGzip
				}
			})
			spans := testSpans(t)
			if err := exp.ExportSpans(context.Background(), spans); err != nil {
				t.Fatal(err)
			}
			reqs := rcv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodPost || r.Path != "/custom/v1/traces" {
				t.Errorf("request %s %s, want POST /custom/v1/traces (the endpoint as given)", r.Method, r.Path)
			}
			for k, want := range map[string]string{
				"Content-Type":  "application/x-protobuf",
				"Authorization": "Bearer s3cret",
				"X-Tenant":      "a b,c",
			} {
				if got := r.Header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if !strings.HasPrefix(r.Header.Get("User-Agent"), "mcpfleet-otlp-exporter") {
				t.Errorf("User-Agent = %q", r.Header.Get("User-Agent"))
			}
			if r.Gzipped != gz {
				t.Errorf("gzipped = %v, want %v", r.Gzipped, gz)
			}
			got := new(coltracepb.ExportTraceServiceRequest)
			if err := proto.Unmarshal(r.Body, got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantTraceRequest(spans), got, protocmp.Transform(), cmpopts.EquateNaNs()); diff != "" {
				t.Errorf("received request (-want +got):\n%s", diff)
			}
		})
	}
}

// Configured headers cannot change how the body is described.
func TestHeadersCannotOverrideContentType(t *testing.T) {
	rcv := otlptest.NewReceiver(t, nil)
	exp, _ := newSpanExporter(t, rcv.URL+otlptest.TracesPath, func(c *otlp.Config) {
		c.Headers = map[string]string{"Content-Type": "application/json"}
	})
	if err := exp.ExportSpans(context.Background(), testSpans(t)); err != nil {
		t.Fatal(err)
	}
	if got := rcv.Requests()[0].Header.Get("Content-Type"); got != "application/x-protobuf" {
		t.Errorf("Content-Type = %q", got)
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	rcv := otlptest.NewReceiver(t, func(n int, _ *otlptest.Request) *otlptest.Response {
		if n < 2 {
			return &otlptest.Response{Status: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"7"}}}
		}
		return nil
	})
	exp, s := newSpanExporter(t, rcv.URL+otlptest.TracesPath, nil)
	spans := testSpans(t)
	if err := exp.ExportSpans(context.Background(), spans); err != nil {
		t.Fatalf("export after two 503s: %v", err)
	}
	if n := len(rcv.Requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	// The backoff (about 1s, then 2s) is shorter: Retry-After wins.
	if diff := cmp.Diff([]time.Duration{7 * time.Second, 7 * time.Second}, s.get()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	// Every attempt carried the same request.
	reqs := rcv.Requests()
	for _, r := range reqs[1:] {
		if string(r.Body) != string(reqs[0].Body) {
			t.Error("a retry sent a different body")
		}
	}
}

func TestRetryBackoff(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			rcv := otlptest.NewReceiver(t, func(n int, _ *otlptest.Request) *otlptest.Response {
				if n < 3 {
					return &otlptest.Response{Status: status, Header: protobufHeader, Body: statusBody(t, "busy")}
				}
				return nil
			})
			exp, s := newSpanExporter(t, rcv.URL+otlptest.TracesPath, func(c *otlp.Config) {
				c.Retry = otlp.Retry{InitialInterval: 100 * time.Millisecond, MaxInterval: 300 * time.Millisecond}
			})
			if err := exp.ExportSpans(context.Background(), testSpans(t)); err != nil {
				t.Fatal(err)
			}
			waits := s.get()
			if len(waits) != 3 {
				t.Fatalf("waits %v, want 3", waits)
			}
			// Doubling from 100ms with ±50% jitter, capped at 300ms.
			bounds := [][2]time.Duration{{50 * time.Millisecond, 150 * time.Millisecond}, {100 * time.Millisecond, 300 * time.Millisecond}, {150 * time.Millisecond, 300 * time.Millisecond}}
			for i, w := range waits {
				if w < bounds[i][0] || w > bounds[i][1] {
					t.Errorf("wait %d = %s, want within %v", i, w, bounds[i])
				}
			}
		})
	}
}

// A wait that would end after the export's deadline is not started: the
// export fails at once.
func TestRetryBoundedByDeadline(t *testing.T) {
	for _, retryAfter := range []string{"60", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)} {
		rcv := otlptest.NewReceiver(t, func(int, *otlptest.Request) *otlptest.Response {
			return &otlptest.Response{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {retryAfter}}}
		})
		exp, s := newSpanExporter(t, rcv.URL+otlptest.TracesPath, nil)
		err := exp.ExportSpans(context.Background(), testSpans(t))
		if err == nil || !strings.Contains(err.Error(), "429") || !strings.Contains(err.Error(), "after the export deadline") {
			t.Errorf("Retry-After %s: error %v, want a 429 not retried past the deadline", retryAfter, err)
		}
		if n := len(rcv.Requests()); n != 1 || len(s.get()) != 0 {
			t.Errorf("Retry-After %s: %d requests and waits %v, want 1 and none", retryAfter, n, s.get())
		}
	}

	// The caller's context bounds the export too.
	rcv := otlptest.NewReceiver(t, func(int, *otlptest.Request) *otlptest.Response {
		return &otlptest.Response{Status: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"5"}}}
	})
	exp, _ := newSpanExporter(t, rcv.URL+otlptest.TracesPath, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := exp.ExportSpans(ctx, testSpans(t)); err == nil || !strings.Contains(err.Error(), "after the export deadline") {
		t.Errorf("error %v, want the ctx deadline to stop retries", err)
	}
}

func TestPermanentFailures(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusInternalServerError} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			rcv := otlptest.NewReceiver(t, func(int, *otlptest.Request) *otlptest.Response {
				return &otlptest.Response{Status: status, Header: protobufHeader, Body: statusBody(t, "span\n has no trace id")}
			})
			exp, s := newSpanExporter(t, rcv.URL+otlptest.TracesPath, nil)
			err := exp.ExportSpans(context.Background(), testSpans(t))
			if err == nil {
				t.Fatal("export succeeded")
			}
			for _, want := range []string{http.StatusText(status), "span  has no trace id", "OTLP traces export"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if n := len(rcv.Requests()); n != 1 || len(s.get()) != 0 {
				t.Errorf("%d requests and waits %v: a permanent failure was retried", n, s.get())
			}
		})
	}

	// A text body is quoted (bounded); an unparsable protobuf one is named.
	rcv := otlptest.NewReceiver(t, func(n int, _ *otlptest.Request) *otlptest.Response {
		if n == 0 {
			return &otlptest.Response{Status: http.StatusBadRequest, Body: []byte(strings.Repeat("x", 1000))}
		}
		return &otlptest.Response{Status: http.StatusBadRequest, Header: protobufHeader, Body: []byte{0xff}}
	})
	exp, _ := newSpanExporter(t, rcv.URL+otlptest.TracesPath, nil)
	err := exp.ExportSpans(context.Background(), testSpans(t))
	if err == nil || strings.Contains(err.Error(), strings.Repeat("x", 300)) || !strings.Contains(err.Error(), "xxx...") {
		t.Errorf("text body: error %v, want the text cut short", err)
	}
	err = exp.ExportSpans(context.Background(), testSpans(t))
	if err == nil || !strings.Contains(err.Error(), "unparsable Status body") {
		t.Errorf("bad Status body: error %v", err)
	}
}

func TestPartialSuccess(t *testing.T) {
	traceResp, err := proto.Marshal(&coltracepb.ExportTraceServiceResponse{PartialSuccess: &coltracepb.ExportTracePartialSuccess{RejectedSpans: 2, ErrorMessage: "too old"}})
	if err != nil {
		t.Fatal(err)
	}
	metricResp, err := proto.Marshal(&colmetricpb.ExportMetricsServiceResponse{PartialSuccess: &colmetricpb.ExportMetricsPartialSuccess{RejectedDataPoints: 3}})
	if err != nil {
		t.Fatal(err)
	}
	rcv := otlptest.NewReceiver(t, func(_ int, r *otlptest.Request) *otlptest.Response {
		if r.Path == otlptest.TracesPath {
			return &otlptest.Response{Status: http.StatusOK, Header: protobufHeader, Body: traceResp}
		}
		return &otlptest.Response{Status: http.StatusOK, Header: protobufHeader, Body: metricResp}
	})
	spans, s := newSpanExporter(t, rcv.URL+otlptest.TracesPath, nil)
	err = spans.ExportSpans(context.Background(), testSpans(t))
	var ps *otlp.PartialSuccessError
	if !errors.As(err, &ps) || ps.Signal != "traces" || ps.Rejected != 2 || ps.Message != "too old" {
		t.Errorf("traces: error %v, want a partial success of 2 spans", err)
	}
	if err != nil && !strings.Contains(err.Error(), "2 spans rejected") {
		t.Errorf("message %q", err)
	}

	metrics, _ := newMetricExporter(t, rcv.URL+otlptest.MetricsPath, otlp.MetricOptions{})
	err = metrics.Export(context.Background(), testMetrics(t, otlp.TemporalityCumulative))
	if !errors.As(err, &ps) || ps.Signal != "metrics" || ps.Rejected != 3 || ps.Message != "" {
		t.Errorf("metrics: error %v, want a partial success of 3 data points", err)
	}
	// Accepted requests are never retried.
	if n := len(rcv.Requests()); n != 2 || len(s.get()) != 0 {
		t.Errorf("%d requests, want 2", n)
	}

	// An empty partial_success, or a body that is not protobuf, is success.
	empty, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{PartialSuccess: &coltracepb.ExportTracePartialSuccess{}})
	for _, resp := range []*otlptest.Response{
		{Status: http.StatusOK, Header: protobufHeader, Body: empty},
		{Status: http.StatusAccepted, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("ok")},
		{Status: http.StatusOK, Header: protobufHeader, Body: []byte{0xff, 0xff}},
	} {
		rcv := otlptest.NewReceiver(t, func(int, *otlptest.Request) *otlptest.Response { return resp })
		exp, _ := newSpanExporter(t, rcv.URL+otlptest.TracesPath, nil)
		if err := exp.ExportSpans(context.Background(), testSpans(t)); err != nil {
			t.Errorf("response %d %q: %v", resp.Status, resp.Body, err)
		}
	}
}

// A receiver that never answers: the export ends at Config.Timeout.
func TestExportTimeout(t *testing.T) {
	release := make(chan struct{})
	rcv := otlptest.NewReceiver(t, func(int, *otlptest.Request) *otlptest.Response {
		<-release
		return nil
	})
	t.Cleanup(func() { close(release) }) // before the receiver closes
	exp, s := newSpanExporter(t, rcv.URL+otlptest.TracesPath, func(c *otlp.Config) { c.Timeout = 100 * time.Millisecond })
	err := exp.ExportSpans(context.Background(), testSpans(t))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want a deadline", err)
	}
	if len(s.get()) != 0 {
		t.Errorf("waits %v after the deadline", s.get())
	}
}

// Connection failures are retried, within the deadline.
func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	exp, s := newSpanExporter(t, "http://"+addr+"/v1/traces", func(c *otlp.Config) {
		c.Timeout = time.Second
		c.Retry = otlp.Retry{InitialInterval: 10 * time.Millisecond, MaxInterval: 20 * time.Millisecond}
	})
	err = exp.ExportSpans(context.Background(), testSpans(t))
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("error %v, want connection refused", err)
	}
	if len(s.get()) == 0 {
		t.Error("a connection failure was not retried")
	}
}

func TestShutdown(t *testing.T) {
	release := make(chan struct{})
	rcv := otlptest.NewReceiver(t, func(int, *otlptest.Request) *otlptest.Response {
		<-release
		return nil
	})
	t.Cleanup(func() { close(release) })
	exp, _ := newSpanExporter(t, rcv.URL+otlptest.TracesPath, nil)
	done := make(chan error, 1)
	go func() { done <- exp.ExportSpans(context.Background(), testSpans(t)) }()
	rcv.WaitRequests(t, 1, 10*time.Second)
	// Shutdown cancels the export in flight rather than waiting out its
	// timeout.
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-done; err == nil {
		t.Error("the export in flight succeeded after Shutdown")
	}
	if err := exp.ExportSpans(context.Background(), testSpans(t)); err == nil || !strings.Contains(err.Error(), "shut down") {
		t.Errorf("export after Shutdown: %v", err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if n := len(rcv.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}

	// Shutdown without any export.
	idle, err := otlp.NewSpanExporter(otlp.NewDefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := idle.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown of an unused exporter: %v", err)
	}
}

func TestMetricExporter(t *testing.T) {
	rcv := otlptest.NewReceiver(t, nil)
	exp, _ := newMetricExporter(t, rcv.URL+otlptest.MetricsPath, otlp.MetricOptions{})
	rm := testMetrics(t, otlp.TemporalityCumulative)
	if err := exp.Export(context.Background(), rm); err != nil {
		t.Fatal(err)
	}
	reqs := rcv.Requests()
	if len(reqs) != 1 || reqs[0].Path != otlptest.MetricsPath || reqs[0].Header.Get("Content-Type") != "application/x-protobuf" {
		t.Fatalf("requests %+v", reqs)
	}
	if diff := cmp.Diff(wantMetricsRequest(rm), rcv.Metrics(t)[0], protocmp.Transform(), cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("received request (-want +got):\n%s", diff)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := exp.ForceFlush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("ForceFlush with a cancelled context = %v", err)
	}
	if err := exp.ForceFlush(context.Background()); err != nil {
		t.Errorf("ForceFlush = %v", err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	if err := exp.Shutdown(context.Background()); !errors.Is(err, sdkmetric.ErrExporterShutdown) {
		t.Errorf("second Shutdown = %v, want ErrExporterShutdown", err)
	}
	if err := exp.Export(context.Background(), rm); !errors.Is(err, sdkmetric.ErrExporterShutdown) {
		t.Errorf("Export after Shutdown = %v, want ErrExporterShutdown", err)
	}
}

// The exporter behind a real periodic reader: Shutdown of the reader
// flushes through it.
func TestMetricExporterWithPeriodicReader(t *testing.T) {
	rcv := otlptest.NewReceiver(t, nil)
	exp, _ := newMetricExporter(t, rcv.URL+otlptest.MetricsPath, otlp.MetricOptions{Temporality: otlp.TemporalityDelta})
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
	c, err := mp.Meter("m").Int64Counter("calls")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(context.Background(), 5)
	if err := mp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := rcv.MetricNamed(t, "calls")
	if m == nil {
		t.Fatal("no calls metric received")
	}
	if got := m.GetSum(); got.GetAggregationTemporality() != 1 || !got.GetIsMonotonic() || got.GetDataPoints()[0].GetAsInt() != 5 {
		t.Errorf("calls = %v, want a monotonic delta sum of 5", got)
	}
}

func TestTemporalityAndAggregation(t *testing.T) {
	delta, cumulative := metricdata.DeltaTemporality, metricdata.CumulativeTemporality
	kinds := []sdkmetric.InstrumentKind{
		sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindUpDownCounter, sdkmetric.InstrumentKindHistogram,
		sdkmetric.InstrumentKindObservableCounter, sdkmetric.InstrumentKindObservableUpDownCounter,
		sdkmetric.InstrumentKindObservableGauge, sdkmetric.InstrumentKindGauge,
	}
	for _, tc := range []struct {
		pref string
		want []metricdata.Temporality // in the order of kinds
	}{
		{"cumulative", []metricdata.Temporality{cumulative, cumulative, cumulative, cumulative, cumulative, cumulative, cumulative}},
		{"Delta", []metricdata.Temporality{delta, cumulative, delta, delta, cumulative, cumulative, cumulative}},
		{"LOWMEMORY", []metricdata.Temporality{delta, cumulative, delta, cumulative, cumulative, cumulative, cumulative}},
	} {
		pref, err := otlp.ParseTemporality(tc.pref)
		if err != nil {
			t.Fatal(err)
		}
		exp, _ := newMetricExporter(t, "http://127.0.0.1:1/v1/metrics", otlp.MetricOptions{Temporality: pref})
		for i, k := range kinds {
			if got := exp.Temporality(k); got != tc.want[i] {
				t.Errorf("%s: temporality of %s = %s, want %s", tc.pref, k, got, tc.want[i])
			}
			if got, want := exp.Aggregation(k), sdkmetric.DefaultAggregationSelector(k); !reflect.DeepEqual(got, want) {
				t.Errorf("aggregation of %s = %v, want the SDK default %v", k, got, want)
			}
		}
	}
	if _, err := otlp.ParseTemporality("sometimes"); err == nil {
		t.Error("ParseTemporality accepted nonsense")
	}
	if _, err := otlp.NewMetricExporter(otlp.NewDefaultConfig(), otlp.MetricOptions{Temporality: 7}); err == nil {
		t.Error("NewMetricExporter accepted an unknown temporality")
	}

	exp, _ := newMetricExporter(t, "http://127.0.0.1:1/v1/metrics", otlp.MetricOptions{ExponentialHistograms: true})
	if _, ok := exp.Aggregation(sdkmetric.InstrumentKindHistogram).(sdkmetric.AggregationBase2ExponentialHistogram); !ok {
		t.Error("histograms are not exponential although configured")
	}
	if got := exp.Aggregation(sdkmetric.InstrumentKindCounter); !reflect.DeepEqual(got, sdkmetric.DefaultAggregationSelector(sdkmetric.InstrumentKindCounter)) {
		t.Errorf("counter aggregation = %v", got)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := otlp.NewDefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for _, tc := range []struct {
		name   string
		adjust func(*otlp.Config)
		want   string
	}{
		{"endpoint scheme", func(c *otlp.Config) { c.Endpoint = "collector:4318" }, "http:// or https://"},
		{"endpoint password", func(c *otlp.Config) { c.Endpoint = "ftp://user:hunter2@collector" }, "xxxxx"},
		{"timeout", func(c *otlp.Config) { c.Timeout = 0 }, "timeout must be positive"},
		{"compression", func(c *otlp.Config) { c.Compression = "br" }, `compression "br"`},
		{"header name", func(c *otlp.Config) { c.Headers = map[string]string{"bad name": "v"} }, `header name "bad name"`},
		{"header value", func(c *otlp.Config) { c.Headers = map[string]string{"X-Key": "hunter2\r\nInjected: 1"} }, "X-Key has a value with a line break"},
		{"retry", func(c *otlp.Config) { c.Retry.MaxInterval = time.Millisecond }, "retry intervals"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := otlp.NewDefaultConfig()
			tc.adjust(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error reveals a secret: %v", err)
			}
			if _, err := otlp.NewSpanExporter(cfg); err == nil {
				t.Error("NewSpanExporter accepted the config")
			}
		})
	}
	cfg := otlp.NewDefaultConfig()
	cfg.Retry = otlp.Retry{Disabled: true}
	if err := cfg.Validate(); err != nil {
		t.Errorf("disabled retries need no intervals: %v", err)
	}
}

func TestRetryDisabled(t *testing.T) {
	rcv := otlptest.NewReceiver(t, func(int, *otlptest.Request) *otlptest.Response {
		return &otlptest.Response{Status: http.StatusServiceUnavailable}
	})
	exp, s := newSpanExporter(t, rcv.URL+otlptest.TracesPath, func(c *otlp.Config) { c.Retry = otlp.Retry{Disabled: true} })
	if err := exp.ExportSpans(context.Background(), testSpans(t)); err == nil {
		t.Error("export succeeded")
	}
	if n := len(rcv.Requests()); n != 1 || len(s.get()) != 0 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	clientCert, clientKey := ca.issue(t, dir, "client")

	t.Run("server CA", func(t *testing.T) {
		rcv := otlptest.NewTLSReceiver(t, nil, nil)
		caFile := writePEM(t, dir, "server-ca.pem", "CERTIFICATE", rcv.Certificate.Raw)
		tlsCfg, err := otlp.LoadTLS(caFile, "", "")
		if err != nil {
			t.Fatal(err)
		}
		exp, _ := newSpanExporter(t, rcv.URL+otlptest.TracesPath, func(c *otlp.Config) { c.TLS = tlsCfg })
		if err := exp.ExportSpans(context.Background(), testSpans(t)); err != nil {
			t.Fatal(err)
		}
		if len(rcv.Spans(t)) == 0 {
			t.Error("no spans received over TLS")
		}
	})

	t.Run("unknown authority is permanent", func(t *testing.T) {
		rcv := otlptest.NewTLSReceiver(t, nil, nil)
		exp, s := newSpanExporter(t, rcv.URL+otlptest.TracesPath, nil)
		err := exp.ExportSpans(context.Background(), testSpans(t))
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("error %v, want a certificate error", err)
		}
		if len(s.get()) != 0 {
			t.Errorf("waits %v: a certificate error was retried", s.get())
		}
	})

	t.Run("client certificate", func(t *testing.T) {
		rcv := otlptest.NewTLSReceiver(t, nil, ca.pool)
		caFile := writePEM(t, dir, "server-ca-2.pem", "CERTIFICATE", rcv.Certificate.Raw)
		withCert, err := otlp.LoadTLS(caFile, clientCert, clientKey)
		if err != nil {
			t.Fatal(err)
		}
		exp, _ := newSpanExporter(t, rcv.URL+otlptest.TracesPath, func(c *otlp.Config) { c.TLS = withCert })
		if err := exp.ExportSpans(context.Background(), testSpans(t)); err != nil {
			t.Fatalf("with a client certificate: %v", err)
		}

		withoutCert, err := otlp.LoadTLS(caFile, "", "")
		if err != nil {
			t.Fatal(err)
		}
		exp, _ = newSpanExporter(t, rcv.URL+otlptest.TracesPath, func(c *otlp.Config) {
			c.TLS = withoutCert
			c.Timeout = time.Second
		})
		if err := exp.ExportSpans(context.Background(), testSpans(t)); err == nil {
			t.Error("export without a client certificate succeeded")
		}
		if n := len(rcv.Requests()); n != 1 {
			t.Errorf("%d requests reached the handler, want 1", n)
		}
	})

	t.Run("errors", func(t *testing.T) {
		notPEM := filepath.Join(dir, "not.pem")
		if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			ca, cert, key, want string
		}{
			{filepath.Join(dir, "missing.pem"), "", "", "OTLP CA certificate"},
			{notPEM, "", "", "no PEM certificate"},
			{"", clientCert, "", "given together"},
			{"", "", clientKey, "given together"},
			{"", clientKey, clientCert, "OTLP client certificate"},
		} {
			if _, err := otlp.LoadTLS(tc.ca, tc.cert, tc.key); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadTLS(%q, %q, %q) = %v, want %q", tc.ca, tc.cert, tc.key, err, tc.want)
			}
		}
		if cfg, err := otlp.LoadTLS("", "", ""); cfg != nil || err != nil {
			t.Errorf("LoadTLS of nothing = %v, %v; want the defaults", cfg, err)
		}
	})
}

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue writes a client certificate and key signed by the CA, returning
// their paths.
func (ca *testCA) issue(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name+".pem", "CERTIFICATE", der), writePEM(t, dir, name+"-key.pem", "EC PRIVATE KEY", keyDER)
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
