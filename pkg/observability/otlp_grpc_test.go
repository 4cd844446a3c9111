package observability_test

import (
	"context"
	"net"
	"sync"
	"testing"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// otlpProtocols are the OTLP protocols the module exports over.
var otlpProtocols = []string{"grpc", "http/protobuf"}

// grpcReceiver is an OTLP/gRPC receiver built on the official service
// definitions.
type grpcReceiver struct {
	coltracepb.UnimplementedTraceServiceServer

	mu       sync.Mutex
	spans    []string // span names
	metrics  []string // metric names
	metadata []metadata.MD
}

func (r *grpcReceiver) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	md, _ := metadata.FromIncomingContext(ctx)
	r.metadata = append(r.metadata, md)
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.spans = append(r.spans, s.GetName())
			}
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// metricsService adapts the receiver to the metrics service, whose Export
// method has another signature.
type metricsService struct {
	colmetricpb.UnimplementedMetricsServiceServer
	r *grpcReceiver
}

func (m metricsService) Export(_ context.Context, req *colmetricpb.ExportMetricsServiceRequest) (*colmetricpb.ExportMetricsServiceResponse, error) {
	m.r.mu.Lock()
	defer m.r.mu.Unlock()
	for _, rm := range req.GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			for _, x := range sm.GetMetrics() {
				m.r.metrics = append(m.r.metrics, x.GetName())
			}
		}
	}
	return &colmetricpb.ExportMetricsServiceResponse{}, nil
}

// OTEL_EXPORTER_OTLP_PROTOCOL=grpc selects the official gRPC exporters,
// which send both signals with the settings they read from the environment.
func TestModuleOTLPGRPC(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rcv := &grpcReceiver{}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, rcv)
	colmetricpb.RegisterMetricsServiceServer(srv, metricsService{r: rcv})
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(l) })
	t.Cleanup(func() { srv.Stop(); wg.Wait() })

	callAndStop(t, map[string]string{
		"OTEL_TRACES_EXPORTER":        "otlp",
		"OTEL_METRICS_EXPORTER":       "otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + l.Addr().String(),
		"OTEL_EXPORTER_OTLP_HEADERS":  "api-key=s%20ecret",
		// Not observable here (gRPC strips grpc-encoding from what
		// handlers see), but it must be accepted.
		"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
	})
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	found := false
	for _, name := range rcv.spans {
		found = found || name == "tools/call echo"
	}
	if !found {
		t.Errorf("spans received over gRPC: %q, want tools/call echo", rcv.spans)
	}
	found = false
	for _, name := range rcv.metrics {
		found = found || name == "mcp.server.operation.duration"
	}
	if !found {
		t.Errorf("metrics received over gRPC: %q", rcv.metrics)
	}
	for _, md := range rcv.metadata {
		if got := md.Get("api-key"); len(got) != 1 || got[0] != "s ecret" {
			t.Errorf("api-key metadata = %q", got)
		}
	}
}
