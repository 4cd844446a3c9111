package observability

import (
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

func envOf(m map[string]string) LookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseExportEnvSelection(t *testing.T) {
	for _, tc := range []struct {
		name             string
		env              map[string]string
		traces, metrics  []string
		tracesT, metricT otlpTarget
	}{
		{name: "nothing by default", env: nil},
		{name: "none", env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": " none "}},
		{
			name:    "otlp defaults to http/protobuf and the exporter's endpoint",
			env:     map[string]string{"OTEL_TRACES_EXPORTER": "otlp"},
			traces:  []string{"otlp"},
			tracesT: otlpTarget{protocol: ProtocolHTTPProtobuf},
		},
		{
			name:    "generic http endpoint gets the signal path",
			env:     map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp,console", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/base/"},
			traces:  []string{"otlp"},
			metrics: []string{"otlp", "console"},
			tracesT: otlpTarget{protocol: ProtocolHTTPProtobuf, endpointURL: "http://collector:4318/base/v1/traces"},
			metricT: otlpTarget{protocol: ProtocolHTTPProtobuf, endpointURL: "http://collector:4318/base/v1/metrics"},
		},
		{
			name: "signal settings win over generic ones",
			env: map[string]string{
				"OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp",
				"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
				"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:4318", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://metrics:9000/custom",
			},
			traces:  []string{"otlp"},
			metrics: []string{"otlp"},
			// gRPC uses the generic endpoint as is.
			tracesT: otlpTarget{protocol: ProtocolGRPC, endpointURL: "https://collector:4318"},
			metricT: otlpTarget{protocol: ProtocolHTTPProtobuf, endpointURL: "http://metrics:9000/custom"},
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
			if got.tracesOTLP != tc.tracesT || got.metricsOTLP != tc.metricT {
				t.Errorf("targets = %+v / %+v, want %+v / %+v", got.tracesOTLP, got.metricsOTLP, tc.tracesT, tc.metricT)
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
		{"http/json", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{"bad signal protocol", map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "udp"}, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"},
		{"endpoint without scheme", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"endpoint bad scheme", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://collector"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		{"resource without =", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "team"}, "OTEL_RESOURCE_ATTRIBUTES"},
		{"resource bad escape", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "team=%zz"}, "OTEL_RESOURCE_ATTRIBUTES"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseExportEnv(envOf(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parseExportEnv = %v, want an error containing %q", err, tc.want)
			}
		})
	}

	// Endpoints are only checked for the signals that export over OTLP.
	if _, err := parseExportEnv(envOf(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "nonsense"})); err != nil {
		t.Errorf("unused endpoint rejected: %v", err)
	}
}

func TestParseExportEnvResource(t *testing.T) {
	got, err := parseExportEnv(envOf(map[string]string{
		"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=prod, team=a%20b,,service.name=from-attrs",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := []attribute.KeyValue{
		attribute.String("deployment.environment.name", "prod"),
		attribute.String("team", "a b"),
		attribute.String("service.name", "from-attrs"),
	}
	if !reflect.DeepEqual(got.resource, want) {
		t.Errorf("resource = %v, want %v", got.resource, want)
	}
	if got.serviceName != "from-attrs" {
		t.Errorf("service name = %q, want the one from OTEL_RESOURCE_ATTRIBUTES", got.serviceName)
	}

	got, err = parseExportEnv(envOf(map[string]string{
		"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs",
		"OTEL_SERVICE_NAME":        "from-service-name",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got.serviceName != "from-service-name" {
		t.Errorf("service name = %q, want OTEL_SERVICE_NAME's", got.serviceName)
	}
}
