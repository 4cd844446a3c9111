//go:build !otlpgrpc

package observability

import (
	"strings"
	"testing"
)

// Without -tags otlpgrpc, asking for gRPC fails with one line that says
// what to do, however many signals ask for it.
func TestParseExportEnvGRPCNotLinked(t *testing.T) {
	_, err := parseExportEnv(envOf(map[string]string{
		"OTEL_TRACES_EXPORTER":        "otlp",
		"OTEL_METRICS_EXPORTER":       "otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
	}))
	want := "OTEL_EXPORTER_OTLP_PROTOCOL=grpc: this build exports OTLP over http/protobuf; rebuild with -tags otlpgrpc for gRPC"
	if err == nil || err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}

	_, err = parseExportEnv(envOf(map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"}))
	if err == nil || !strings.HasPrefix(err.Error(), "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=grpc: this build") {
		t.Errorf("error %v, want the metrics variable named", err)
	}
}
