package upstream

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// BenchmarkRoundTrip compares a bare *http.Transport with the upstream
// client (noop and SDK telemetry) on a loopback GET, to keep the cost of
// the guards, limiter, breaker and spans visible next to the network's.
func BenchmarkRoundTrip(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", "4999")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()

	cfg := NewDefaultConfig()
	cfg.RateLimit = RateLimit{RequestsPerSecond: 1e9, Burst: 1000}
	run := func(b *testing.B, client *http.Client) {
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/x?page=2", nil)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	}
	b.Run("bare", func(b *testing.B) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		defer tr.CloseIdleConnections()
		run(b, &http.Client{Transport: tr})
	})
	b.Run("upstream-noop", func(b *testing.B) {
		c, err := New(cfg, Deps{})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		run(b, c.HTTPClient())
	})
	b.Run("upstream-sdk-trace", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider()
		defer func() { _ = tp.Shutdown(context.Background()) }()
		c, err := New(cfg, Deps{Tracers: tp})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		run(b, c.HTTPClient())
	})
}
