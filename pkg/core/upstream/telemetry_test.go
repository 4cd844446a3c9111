package upstream

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func spanAttrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestClientSpansAndMetrics(t *testing.T) {
	traceparents := make(chan string, 2)
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, hit int64) {
		traceparents <- r.Header.Get("Traceparent")
		if hit == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	c := newTestClient(t, testConfig(), Deps{Tracers: tp, Meters: mp, Clock: newTestClock()})

	ctx, parent := tp.Tracer("test").Start(context.Background(), "tool call")
	req := newRequest(t, ctx, http.MethodGet, up.URL+"/repos?access_token=s3cret&page=2&X-Amz-Signature=abc", "")
	if s, _, err := do(t, c, req); err != nil || s != http.StatusOK {
		t.Fatalf("got %d, %v", s, err)
	}
	parent.End()

	u, _ := url.Parse(up.URL)
	port, _ := strconv.Atoi(u.Port())
	var attempts []sdktrace.ReadOnlySpan
	for _, s := range spans.Ended() {
		if s.SpanKind() == trace.SpanKindClient {
			attempts = append(attempts, s)
		}
	}
	if len(attempts) != 2 {
		t.Fatalf("%d client spans, want one per attempt (2)", len(attempts))
	}
	for i, s := range attempts {
		if s.Name() != "GET" {
			t.Errorf("span %d name %q, want GET", i, s.Name())
		}
		if s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("span %d is not a child of the caller's span", i)
		}
		a := spanAttrs(s)
		if a["http.request.method"].AsString() != "GET" || a["server.address"].AsString() != "127.0.0.1" ||
			a["server.port"].AsInt64() != int64(port) || a["mcpfleet.upstream"].AsString() != "test" {
			t.Errorf("span %d attributes %v", i, a)
		}
		full := a["url.full"].AsString()
		if strings.Contains(full, "s3cret") || strings.Contains(full, "abc") ||
			!strings.Contains(full, "access_token=REDACTED&page=2&X-Amz-Signature=REDACTED") {
			t.Errorf("span %d url.full = %q, want secrets redacted and page kept", i, full)
		}
		// Each attempt's span is what the upstream saw as its parent.
		want := "00-" + s.SpanContext().TraceID().String() + "-" + s.SpanContext().SpanID().String() + "-01"
		if got := <-traceparents; got != want {
			t.Errorf("attempt %d traceparent %q, want %q", i, got, want)
		}
	}
	first, second := spanAttrs(attempts[0]), spanAttrs(attempts[1])
	if first["http.response.status_code"].AsInt64() != 503 || first["error.type"].AsString() != "503" {
		t.Errorf("first attempt attributes %v", first)
	}
	if _, ok := first["http.request.resend_count"]; ok {
		t.Error("first attempt has a resend count")
	}
	if second["http.response.status_code"].AsInt64() != 200 || second["http.request.resend_count"].AsInt64() != 1 {
		t.Errorf("second attempt attributes %v", second)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			found[m.Name] = true
			switch data := m.Data.(type) {
			case metricdata.Histogram[float64]:
				var n uint64
				statuses := map[int64]bool{}
				for _, dp := range data.DataPoints {
					n += dp.Count
					v, _ := dp.Attributes.Value("http.response.status_code")
					statuses[v.AsInt64()] = true
				}
				if n != 2 || !statuses[503] || !statuses[200] {
					t.Errorf("%s: %d attempts, statuses %v; want 2 with 503 and 200", m.Name, n, statuses)
				}
			case metricdata.Sum[int64]:
				if m.Name != "mcpfleet.upstream.retries" {
					continue
				}
				dp := data.DataPoints
				if len(dp) != 1 || dp[0].Value != 1 {
					t.Fatalf("retries = %+v, want one retry", dp)
				}
				if r, _ := dp[0].Attributes.Value("mcpfleet.upstream.reason"); r.AsString() != "503" {
					t.Errorf("retry reason %q, want 503", r.AsString())
				}
			case metricdata.Gauge[int64]:
				if m.Name == "mcpfleet.upstream.circuit.state" && (len(data.DataPoints) != 1 || data.DataPoints[0].Value != 0) {
					t.Errorf("circuit state %+v, want closed (0)", data.DataPoints)
				}
			}
		}
	}
	for _, name := range []string{"http.client.request.duration", "mcpfleet.upstream.retries", "mcpfleet.upstream.circuit.state"} {
		if !found[name] {
			t.Errorf("metric %s not recorded", name)
		}
	}
}

func TestQuotasAreObserved(t *testing.T) {
	clk := newTestClock()
	reset := clk.Now().Add(time.Hour).Truncate(time.Second)
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int64) {
		h := w.Header()
		switch r.URL.Path {
		case "/search":
			h.Set("X-RateLimit-Resource", "search")
			h.Set("X-RateLimit-Limit", "30")
			h.Set("X-RateLimit-Remaining", "29")
		case "/core":
			h.Set("X-RateLimit-Resource", "core")
			h.Set("X-RateLimit-Limit", "5000")
			h.Set("X-RateLimit-Remaining", r.URL.Query().Get("left"))
			h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		}
	})
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	c := newTestClient(t, testConfig(), Deps{Clock: clk, Meters: mp})

	if len(c.Quotas()) != 0 {
		t.Fatalf("quotas before any response: %v", c.Quotas())
	}
	for _, path := range []string{"/core?left=4999", "/search", "/core?left=4998", "/none"} {
		if _, _, err := get(t, c, up.URL+path); err != nil {
			t.Fatal(err)
		}
	}
	q := c.Quotas()
	want := []Quota{
		{Resource: "core", Limit: 5000, Remaining: 4998, Reset: reset, ObservedAt: clk.Now()},
		{Resource: "search", Limit: 30, Remaining: 29, ObservedAt: clk.Now()},
	}
	if len(q) != 2 || !q[0].Reset.Equal(want[0].Reset) || q[0].Resource != "core" || q[0].Remaining != 4998 ||
		q[0].Limit != 5000 || q[1] != want[1] {
		t.Errorf("quotas = %+v, want %+v", q, want)
	}

	detail, err := c.HealthCheck().Func(context.Background())
	if err != nil {
		t.Fatalf("health check failed: %v", err)
	}
	b, _ := json.Marshal(detail)
	if !strings.Contains(string(b), `"circuit":"closed"`) || !strings.Contains(string(b), `"remaining":4998`) {
		t.Errorf("health detail %s", b)
	}
	if c.HealthCheck().Name != "upstream_test" {
		t.Errorf("health check name %q", c.HealthCheck().Name)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	remaining := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if g, ok := m.Data.(metricdata.Gauge[int64]); ok && m.Name == "mcpfleet.upstream.rate_limit.remaining" {
				for _, dp := range g.DataPoints {
					r, _ := dp.Attributes.Value("mcpfleet.upstream.rate_limit.resource")
					remaining[r.AsString()] = dp.Value
				}
			}
		}
	}
	if remaining["core"] != 4998 || remaining["search"] != 29 {
		t.Errorf("remaining gauge %v, want core 4998 and search 29", remaining)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.example.test/repos/a/b?page=2":                    "https://api.example.test/repos/a/b?page=2",
		"https://u:p@api.example.test/x":                               "https://REDACTED:REDACTED@api.example.test/x",
		"https://s3.example.test/b/k?X-Amz-Credential=AK&X-Amz-Date=1": "https://s3.example.test/b/k?X-Amz-Credential=REDACTED&X-Amz-Date=1",
		"https://api.example.test/?api_key=k&q=go%20lang&flag":         "https://api.example.test/?api_key=REDACTED&q=go%20lang&flag",
		"https://api.example.test/cb?code=abc&state=1#frag":            "https://api.example.test/cb?code=REDACTED&state=1",
		"https://api.example.test/?%74oken=k":                          "https://api.example.test/?%74oken=REDACTED",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := redactURL(u); got != want {
			t.Errorf("redactURL(%s) = %s, want %s", in, got, want)
		}
	}
}
