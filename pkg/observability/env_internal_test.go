package observability

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/mcpfleet/mcpfleet/pkg/observability/otlp"
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
			// The generic protocol would fail (gRPC is not in the default
			// build); the signals' own settings win.
			name: "signal settings win over generic ones",
			env: map[string]string{
				"OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp",
				"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf",
				"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:4318", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://metrics:9000/custom",
			},
			traces:  []string{"otlp"},
			metrics: []string{"otlp"},
			tracesT: otlpTarget{protocol: ProtocolHTTPProtobuf, endpointURL: "https://collector:4318/v1/traces"},
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
			if !reflect.DeepEqual(got.tracesOTLP, tc.tracesT) || !reflect.DeepEqual(got.metricsOTLP, tc.metricT) {
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
		{"http/json", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, `OTEL_EXPORTER_OTLP_PROTOCOL="http/json": unsupported protocol`},
		{"bad signal protocol", map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "udp"}, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"},
		{"endpoint without scheme", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"endpoint bad scheme", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://collector"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		{"headers without =", otlpEnv("OTEL_EXPORTER_OTLP_HEADERS", "api-key"), "OTEL_EXPORTER_OTLP_HEADERS: an entry is not key=value"},
		{"headers bad escape", otlpEnv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api-key=%zz"), "OTEL_EXPORTER_OTLP_TRACES_HEADERS: the value of api-key"},
		{"header name", otlpEnv("OTEL_EXPORTER_OTLP_HEADERS", "bad name=v"), `header name "bad name"`},
		{"header value", otlpEnv("OTEL_EXPORTER_OTLP_HEADERS", "key=a%0Ab"), "key has a value with a line break"},
		{"timeout not a number", otlpEnv("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"), `OTEL_EXPORTER_OTLP_TIMEOUT="10s": must be a number of milliseconds`},
		{"timeout zero", otlpEnv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0"), "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"},
		{"compression", otlpEnv("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"), `OTEL_EXPORTER_OTLP_COMPRESSION="zstd": unsupported compression`},
		{"certificate missing", otlpEnv("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem"), "OTEL_EXPORTER_OTLP_CERTIFICATE: OTLP CA certificate: open /nonexistent/ca.pem"},
		{"client key alone", otlpEnv("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/nonexistent/key.pem"), "OTEL_EXPORTER_OTLP_CLIENT_KEY: OTLP client certificate and client key must be given together"},
		{"temporality", map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "sometimes"}, "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"},
		{"histogram aggregation", map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION": "summary"}, "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"},
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

	// Secrets in values never reach the error.
	_, err := parseExportEnv(envOf(map[string]string{
		"OTEL_TRACES_EXPORTER":        "otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://user:hunter2@collector",
		"OTEL_EXPORTER_OTLP_HEADERS":  "api-key=hunter2%zz",
	}))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v reveals a secret", err)
	}
}

// otlpEnv selects OTLP for traces and sets one more variable.
func otlpEnv(name, value string) map[string]string {
	return map[string]string{"OTEL_TRACES_EXPORTER": "otlp", name: value}
}

func TestParseOTLPSettings(t *testing.T) {
	got, err := parseExportEnv(envOf(map[string]string{
		"OTEL_TRACES_EXPORTER":                                     "otlp",
		"OTEL_METRICS_EXPORTER":                                    "otlp",
		"OTEL_EXPORTER_OTLP_HEADERS":                               "api-key=s%20e%2Ccret, x-tenant = a=b ,,",
		"OTEL_EXPORTER_OTLP_METRICS_HEADERS":                       "x-only=metrics",
		"OTEL_EXPORTER_OTLP_TIMEOUT":                               "2500",
		"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT":                        "750",
		"OTEL_EXPORTER_OTLP_COMPRESSION":                           "gzip",
		"OTEL_EXPORTER_OTLP_METRICS_COMPRESSION":                   "none",
		"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE":        "Delta",
		"OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION": "base2_exponential_bucket_histogram",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := otlpTarget{
		protocol: ProtocolHTTPProtobuf,
		// Values are percent-decoded; the signal's variable replaces the
		// generic one as a whole.
		headers: map[string]string{"api-key": "s e,cret", "x-tenant": "a=b"},
		timeout: 750 * time.Millisecond,
		gzip:    true,
	}
	if !reflect.DeepEqual(got.tracesOTLP, want) {
		t.Errorf("traces = %+v, want %+v", got.tracesOTLP, want)
	}
	want = otlpTarget{
		protocol: ProtocolHTTPProtobuf,
		headers:  map[string]string{"x-only": "metrics"},
		timeout:  2500 * time.Millisecond,
		metric:   otlp.MetricOptions{Temporality: otlp.TemporalityDelta, ExponentialHistograms: true},
	}
	if !reflect.DeepEqual(got.metricsOTLP, want) {
		t.Errorf("metrics = %+v, want %+v", got.metricsOTLP, want)
	}

	cfg := got.tracesOTLP.httpConfig()
	if cfg.Timeout != 750*time.Millisecond || cfg.Compression != otlp.CompressionGzip || cfg.Headers["api-key"] != "s e,cret" || cfg.Endpoint != "" {
		t.Errorf("http config = %+v", cfg)
	}
	if def := (otlpTarget{}).httpConfig(); !reflect.DeepEqual(def, otlp.NewDefaultConfig()) {
		t.Errorf("unset settings = %+v, want the exporter's defaults", def)
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
