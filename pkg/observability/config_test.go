package observability_test

import (
	"go.uber.org/fx"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/pkg/observability"
)

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := observability.NewDefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if cfg.Metrics.Path != "GET /metrics" || !cfg.Metrics.Enabled || cfg.ShutdownTimeout != 5*time.Second || cfg.Tracing.SampleRatio != 1 {
		t.Errorf("unexpected defaults: %+v", cfg)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*observability.Config)
		want   string
	}{
		{"zero shutdown", func(c *observability.Config) { c.ShutdownTimeout = 0 }, "shutdown_timeout"},
		{"negative shutdown", func(c *observability.Config) { c.ShutdownTimeout = -time.Second }, "shutdown_timeout"},
		{"unbounded shutdown", func(c *observability.Config) { c.ShutdownTimeout = time.Hour }, "shutdown_timeout"},
		{"ratio above 1", func(c *observability.Config) { c.Tracing.SampleRatio = 1.5 }, "sample_ratio"},
		{"negative ratio", func(c *observability.Config) { c.Tracing.SampleRatio = -0.1 }, "sample_ratio"},
		{"NaN ratio", func(c *observability.Config) { c.Tracing.SampleRatio = math.NaN() }, "sample_ratio"},
		{"relative path", func(c *observability.Config) { c.Metrics.Path = "metrics" }, "metrics.path"},
		{"POST path", func(c *observability.Config) { c.Metrics.Path = "POST /metrics" }, "metrics.path"},
		{"wildcard path", func(c *observability.Config) { c.Metrics.Path = "GET /{name}" }, "metrics.path"},
		{"host in path", func(c *observability.Config) { c.Metrics.Path = "example.com/metrics" }, "metrics.path"},
		{"spaces in name", func(c *observability.Config) { c.ServiceName = " crm" }, "service_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := observability.NewDefaultConfig()
			tc.change(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error about %s", err, tc.want)
			}
		})
	}

	// A bad path does not matter while the endpoint is off.
	cfg := observability.NewDefaultConfig()
	cfg.Metrics = observability.Metrics{Enabled: false, Path: "nonsense"}
	if err := cfg.Validate(); err != nil {
		t.Errorf("disabled metrics with a bad path: %v", err)
	}
}

func TestLoadConfig(t *testing.T) {
	env := map[string]string{"MCPFLEET_OBSERVABILITY_SHUTDOWN_TIMEOUT": "2s"}
	doc, err := config.Parse(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, []byte(`
observability:
  service_name: crm-eu
  metrics:
    path: /internal/metrics
  tracing:
    sample_ratio: 0.25
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := observability.LoadConfig(doc, config.NewDefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := observability.Config{
		ServiceName:     "crm-eu",
		Metrics:         observability.Metrics{Enabled: true, Path: "/internal/metrics"},
		Tracing:         observability.Tracing{SampleRatio: 0.25},
		ShutdownTimeout: 2 * time.Second,
	}
	if cfg != want {
		t.Errorf("LoadConfig = %+v, want %+v", cfg, want)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown key", "observability:\n  sample_ratio: 0.5\n", "sample_ratio"},
		{"invalid value", "observability:\n  tracing:\n    sample_ratio: 2\n", "sample_ratio"},
		{"bad duration", "observability:\n  shutdown_timeout: soon\n", "soon"},
		{"path of the MCP endpoint", "observability:\n  metrics:\n    path: GET /mcp\n", "already served"},
		{"path of health", "observability:\n  metrics:\n    path: /healthz\n", "already served"},
		{"path of auth metadata", "observability:\n  metrics:\n    path: /.well-known/oauth-protected-resource\n", "already served"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := config.Parse(func(string) (string, bool) { return "", false }, []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			_, err = observability.LoadConfig(doc, config.NewDefaultConfig())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadConfig = %v, want an error about %s", err, tc.want)
			}
		})
	}
}

// A server with a bad observability section or OTEL_* environment does not
// start: the error names the problem.
func TestServerRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		env  map[string]string
		want string
	}{
		{"config", "observability:\n  shutdown_timeout: 0s\n", nil, "shutdown_timeout"},
		{"exporter", "", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, "zipkin"},
		{"protocol", "", map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "http/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := coretest.New(coretest.Options{YAML: tc.yaml, Env: tc.env, Modules: []fx.Option{observability.Module}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("building the server: %v, want an error about %s", err, tc.want)
			}
		})
	}
}
