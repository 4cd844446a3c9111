package observability

import (
	"reflect"
	"strings"
	"testing"
)

func envOf(m map[string]string) LookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseExportEnvSelection(t *testing.T) {
	for _, tc := range []struct {
		name              string
		env               map[string]string
		traces, metrics   []string
		tracesP, metricsP string
	}{
		{name: "nothing by default", env: nil},
		{name: "none", env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": " none "}},
		{
			name:    "otlp defaults to http/protobuf",
			env:     map[string]string{"OTEL_TRACES_EXPORTER": "otlp"},
			traces:  []string{"otlp"},
			tracesP: ProtocolHTTPProtobuf,
		},
		{
			name:     "generic protocol",
			env:      map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp,console", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			traces:   []string{"otlp"},
			metrics:  []string{"otlp", "console"},
			tracesP:  ProtocolGRPC,
			metricsP: ProtocolGRPC,
		},
		{
			name: "signal settings win over generic ones",
			env: map[string]string{
				"OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp",
				"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf",
			},
			traces:   []string{"otlp"},
			metrics:  []string{"otlp"},
			tracesP:  ProtocolGRPC,
			metricsP: ProtocolHTTPProtobuf,
		},
		{
			name:   "duplicates collapse",
			env:    map[string]string{"OTEL_TRACES_EXPORTER": "console, console"},
			traces: []string{"console"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseExportEnv(envOf(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.traces, tc.traces) || !reflect.DeepEqual(got.metrics, tc.metrics) {
				t.Errorf("exporters = %v / %v, want %v / %v", got.traces, got.metrics, tc.traces, tc.metrics)
			}
			if got.tracesProtocol != tc.tracesP || got.metricsProtocol != tc.metricsP {
				t.Errorf("protocols = %q / %q, want %q / %q", got.tracesProtocol, got.metricsProtocol, tc.tracesP, tc.metricsP)
			}
		})
	}
}

func TestParseExportEnvErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unknown exporter", map[string]string{"OTEL_TRACES_EXPORTER": "jaeger"}, `unsupported exporter "jaeger"`},
		{"prometheus via env", map[string]string{"OTEL_METRICS_EXPORTER": "prometheus"}, "observability.metrics"},
		{"none with another", map[string]string{"OTEL_TRACES_EXPORTER": "none,otlp"}, `"none" cannot be combined`},
		{"http/json", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, `OTEL_EXPORTER_OTLP_PROTOCOL="http/json": unsupported protocol`},
		{"bad signal protocol", map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "udp"}, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseExportEnv(envOf(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parseExportEnv = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// A generic variable that is wrong for both signals is reported once.
func TestParseExportEnvReportsOnce(t *testing.T) {
	_, err := parseExportEnv(envOf(map[string]string{
		"OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
	}))
	if err == nil || strings.Count(err.Error(), "http/json") != 1 {
		t.Fatalf("err = %v, want the protocol reported once", err)
	}
}
