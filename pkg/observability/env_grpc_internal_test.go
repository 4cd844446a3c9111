//go:build otlpgrpc

package observability

import (
	"reflect"
	"testing"
)

// With -tags otlpgrpc, gRPC is selected per signal and takes the generic
// endpoint as is (no signal path).
func TestParseExportEnvGRPC(t *testing.T) {
	got, err := parseExportEnv(envOf(map[string]string{
		"OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
		"OTEL_EXPORTER_OTLP_ENDPOINT":        "https://collector:4317",
		"OTEL_EXPORTER_OTLP_HEADERS":         "api-key=x",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := otlpTarget{protocol: ProtocolGRPC, endpointURL: "https://collector:4317", headers: map[string]string{"api-key": "x"}}
	if !reflect.DeepEqual(got.tracesOTLP, want) {
		t.Errorf("traces = %+v, want %+v", got.tracesOTLP, want)
	}
	if got.metricsOTLP.protocol != ProtocolHTTPProtobuf || got.metricsOTLP.endpointURL != "https://collector:4317/v1/metrics" {
		t.Errorf("metrics = %+v", got.metricsOTLP)
	}
}
