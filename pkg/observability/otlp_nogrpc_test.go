//go:build !otlpgrpc

package observability_test

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/observability"
)

// otlpProtocols are the OTLP protocols this build exports over.
var otlpProtocols = []string{"http/protobuf"}

// The default build links no gRPC: asking for it fails startup with one
// line that says how to get it.
func TestGRPCNeedsBuildTag(t *testing.T) {
	env := map[string]string{
		"OTEL_TRACES_EXPORTER":        "otlp",
		"OTEL_METRICS_EXPORTER":       "otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
	}
	var stdout, stderr bytes.Buffer
	code := core.Run(context.Background(), core.App{
		Name:     "mcp-obs-test",
		Defaults: []byte("auth: {disabled: true}\n"),
		Options:  []fx.Option{observability.Module},
	}, []string{"--transport", "http", "--addr", "127.0.0.1:0"}, core.Streams{In: strings.NewReader(""), Out: &stdout, Err: &stderr},
		func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if code == 0 {
		t.Fatal("server started although gRPC was asked for")
	}
	want := "mcp-obs-test: OTEL_EXPORTER_OTLP_PROTOCOL=grpc: this build exports OTLP over http/protobuf; rebuild with -tags otlpgrpc for gRPC\n"
	if stderr.String() != want {
		t.Errorf("stderr = %q, want the one line %q", stderr.String(), want)
	}
}

// The reason for package otlp: the default build links neither gRPC nor
// the generated OTLP types, whose package initialisation costs a server
// about 10 MB of resident memory, and package otlp not even the protobuf
// registry. (The Prometheus exporter's client_model still brings the
// registry into the module; it is worth its ~3 MB.)
func TestDefaultBuildLinksNoGRPC(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to list dependencies with")
	}
	deps := func(pkg string) []string {
		t.Helper()
		out, err := exec.Command(goTool, "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	for _, dep := range deps(".") {
		if dep == "google.golang.org/grpc" || strings.HasPrefix(dep, "go.opentelemetry.io/proto/otlp") || strings.Contains(dep, "exporters/otlp/") {
			t.Errorf("the default build links %s", dep)
		}
	}
	for _, dep := range deps("./otlp") {
		if dep == "google.golang.org/protobuf/reflect/protoregistry" {
			t.Errorf("package otlp links %s", dep)
		}
	}
}
