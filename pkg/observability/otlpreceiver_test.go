package observability_test

import (
	"compress/gzip"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// receivedRequest is one export request as the receiver saw it.
type receivedRequest struct {
	Path    string
	Header  http.Header
	Gzipped bool
	Body    []byte // decompressed
}

// otlpReceiver is an in-process OTLP/HTTP receiver: it decodes what the
// exporters send with the official generated types, as a collector would.
type otlpReceiver struct {
	URL         string
	Certificate *x509.Certificate // set for a TLS receiver

	mu   sync.Mutex
	reqs []receivedRequest
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func newTLSOTLPReceiver(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{}
	srv := httptest.NewTLSServer(r)
	t.Cleanup(srv.Close)
	r.URL, r.Certificate = srv.URL, srv.Certificate()
	return r
}

func (r *otlpReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want POST application/x-protobuf", http.StatusUnsupportedMediaType)
		return
	}
	var body io.Reader = req.Body
	gz := req.Header.Get("Content-Encoding") == "gzip"
	if gz {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, receivedRequest{Path: req.URL.Path, Header: req.Header.Clone(), Gzipped: gz, Body: data})
	r.mu.Unlock()
	// An empty Export*ServiceResponse: full success.
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func (r *otlpReceiver) Requests() []receivedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedRequest(nil), r.reqs...)
}

// Traces decodes every request as a trace export.
func (r *otlpReceiver) Traces(t *testing.T) []*coltracepb.ExportTraceServiceRequest {
	t.Helper()
	var out []*coltracepb.ExportTraceServiceRequest
	for _, req := range r.Requests() {
		m := &coltracepb.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(req.Body, m); err != nil {
			t.Fatalf("decoding a trace export to %s: %v", req.Path, err)
		}
		out = append(out, m)
	}
	return out
}

// Spans are the spans of every trace export.
func (r *otlpReceiver) Spans(t *testing.T) []*tracepb.Span {
	t.Helper()
	var out []*tracepb.Span
	for _, req := range r.Traces(t) {
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				out = append(out, ss.GetSpans()...)
			}
		}
	}
	return out
}

// MetricNamed decodes every request as a metrics export and returns the
// last metric with that name, or nil.
func (r *otlpReceiver) MetricNamed(t *testing.T, name string) *metricpb.Metric {
	t.Helper()
	var found *metricpb.Metric
	for _, req := range r.Requests() {
		m := &colmetricpb.ExportMetricsServiceRequest{}
		if err := proto.Unmarshal(req.Body, m); err != nil {
			t.Fatalf("decoding a metrics export to %s: %v", req.Path, err)
		}
		for _, rm := range m.GetResourceMetrics() {
			for _, sm := range rm.GetScopeMetrics() {
				for _, x := range sm.GetMetrics() {
					if x.GetName() == name {
						found = x
					}
				}
			}
		}
	}
	return found
}
