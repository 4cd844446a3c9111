// Package otlptest is an OTLP/HTTP receiver for tests: an httptest server
// that records every request and decodes it with the official generated
// OTLP types, so that what an exporter sends is checked against an
// independent decoder.
//
// It links the generated types and the protobuf registry: import it from
// tests only.
package otlptest

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// Paths of the signals on a receiver.
const (
	TracesPath  = "/v1/traces"
	MetricsPath = "/v1/metrics"
)

// Request is one request as received.
type Request struct {
	Method string
	Path   string
	Header http.Header
	// Body is the request body, gunzipped when Content-Encoding was gzip.
	Body []byte
	// Gzipped says the body arrived gzip-encoded.
	Gzipped bool
	// Received is when the request arrived.
	Received time.Time
}

// Response is what the receiver answers to one request.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Responder chooses the response to the nth request (from 0). Returning nil
// means the default: 200 with an empty protobuf response.
type Responder func(n int, r *Request) *Response

// Receiver records OTLP/HTTP requests. Its server closes when the test
// ends.
type Receiver struct {
	// URL is the receiver's base URL (http://127.0.0.1:port, or https://
	// from NewTLSReceiver), the value for OTEL_EXPORTER_OTLP_ENDPOINT.
	URL string
	// Certificate is the TLS server's certificate (NewTLSReceiver only), for
	// a client's trusted roots.
	Certificate *x509.Certificate

	respond Responder
	mu      sync.Mutex
	reqs    []Request
	arrived chan struct{} // signalled after each request
}

// NewReceiver starts a receiver; respond may be nil.
func NewReceiver(t testing.TB, respond Responder) *Receiver {
	t.Helper()
	rcv := &Receiver{respond: respond, arrived: make(chan struct{}, 1)}
	srv := httptest.NewServer(http.HandlerFunc(rcv.serve))
	t.Cleanup(srv.Close)
	rcv.URL = srv.URL
	return rcv
}

// NewTLSReceiver starts a receiver serving HTTPS with httptest's
// self-signed certificate; clientCAs, when not nil, are the roots a client
// certificate is required to chain to.
func NewTLSReceiver(t testing.TB, respond Responder, clientCAs *x509.CertPool) *Receiver {
	t.Helper()
	rcv := &Receiver{respond: respond, arrived: make(chan struct{}, 1)}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(rcv.serve))
	// httptest logs every failed handshake; those are what TLS tests
	// provoke.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if clientCAs != nil {
		srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	rcv.URL = srv.URL
	rcv.Certificate = srv.Certificate()
	return rcv
}

func (rcv *Receiver) serve(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: raw, Received: time.Now()}
	if r.Header.Get("Content-Encoding") == "gzip" {
		req.Gzipped = true
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err == nil {
			req.Body, err = io.ReadAll(zr)
		}
		if err != nil {
			http.Error(w, "bad gzip body: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	rcv.mu.Lock()
	n := len(rcv.reqs)
	rcv.reqs = append(rcv.reqs, req)
	rcv.mu.Unlock()
	select {
	case rcv.arrived <- struct{}{}:
	default:
	}

	var resp *Response
	if rcv.respond != nil {
		resp = rcv.respond(n, &req)
	}
	if resp == nil {
		resp = &Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/x-protobuf"}}}
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// Requests returns the requests received so far.
func (rcv *Receiver) Requests() []Request {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return append([]Request(nil), rcv.reqs...)
}

// WaitRequests waits until at least n requests have arrived and returns
// them, failing the test after timeout (a hang detector, not a timing
// assertion).
func (rcv *Receiver) WaitRequests(t testing.TB, n int, timeout time.Duration) []Request {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if reqs := rcv.Requests(); len(reqs) >= n {
			return reqs
		}
		select {
		case <-rcv.arrived:
		case <-deadline.C:
			t.Fatalf("OTLP receiver: %d requests after %s, want %d", len(rcv.Requests()), timeout, n)
		}
	}
}

// Traces decodes every request to a path ending in TracesPath.
func (rcv *Receiver) Traces(t testing.TB) []*coltracepb.ExportTraceServiceRequest {
	t.Helper()
	var out []*coltracepb.ExportTraceServiceRequest
	for _, r := range rcv.Requests() {
		if strings.HasSuffix(r.Path, TracesPath) {
			m := new(coltracepb.ExportTraceServiceRequest)
			if err := proto.Unmarshal(r.Body, m); err != nil {
				t.Fatalf("decoding an OTLP traces request: %v", err)
			}
			out = append(out, m)
		}
	}
	return out
}

// Spans returns every span received, in order.
func (rcv *Receiver) Spans(t testing.TB) []*tracepb.Span {
	t.Helper()
	var out []*tracepb.Span
	for _, req := range rcv.Traces(t) {
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				out = append(out, ss.GetSpans()...)
			}
		}
	}
	return out
}

// Metrics decodes every request to a path ending in MetricsPath.
func (rcv *Receiver) Metrics(t testing.TB) []*colmetricpb.ExportMetricsServiceRequest {
	t.Helper()
	var out []*colmetricpb.ExportMetricsServiceRequest
	for _, r := range rcv.Requests() {
		if strings.HasSuffix(r.Path, MetricsPath) {
			m := new(colmetricpb.ExportMetricsServiceRequest)
			if err := proto.Unmarshal(r.Body, m); err != nil {
				t.Fatalf("decoding an OTLP metrics request: %v", err)
			}
			out = append(out, m)
		}
	}
	return out
}

// MetricNamed returns the last metric received with that name, or nil.
func (rcv *Receiver) MetricNamed(t testing.TB, name string) *metricpb.Metric {
	t.Helper()
	var found *metricpb.Metric
	for _, req := range rcv.Metrics(t) {
		for _, rm := range req.GetResourceMetrics() {
			for _, sm := range rm.GetScopeMetrics() {
				for _, m := range sm.GetMetrics() {
					if m.GetName() == name {
						found = m
					}
				}
			}
		}
	}
	return found
}
