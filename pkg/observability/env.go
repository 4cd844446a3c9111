package observability

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
)

// LookupEnv reads an environment variable. It has the signature of
// os.LookupEnv, which is what a nil LookupEnv means; tests pass their own so
// that they never touch the process environment.
type LookupEnv func(string) (string, bool)

func (l LookupEnv) get(name string) string {
	if l == nil {
		l = os.LookupEnv
	}
	v, _ := l(name)
	return strings.TrimSpace(v)
}

// Exporter names accepted in OTEL_TRACES_EXPORTER and OTEL_METRICS_EXPORTER.
const (
	ExporterOTLP    = "otlp"
	ExporterConsole = "console"
	ExporterNone    = "none"
)

// OTLP protocols accepted in OTEL_EXPORTER_OTLP_PROTOCOL.
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf"
)

// signal is a telemetry signal as named in OTEL_* variables and OTLP paths.
type signal struct {
	env  string // TRACES, METRICS
	path string // v1/traces, v1/metrics
}

var (
	signalTraces  = signal{env: "TRACES", path: "v1/traces"}
	signalMetrics = signal{env: "METRICS", path: "v1/metrics"}
)

// exportEnv is what the OTEL_* environment asks for.
type exportEnv struct {
	traces, metrics         []string // exporter names, "none" removed
	tracesOTLP, metricsOTLP otlpTarget
	serviceName             string // OTEL_SERVICE_NAME, else service.name of OTEL_RESOURCE_ATTRIBUTES
	resource                []attribute.KeyValue
}

// otlpTarget is where an OTLP exporter sends one signal.
type otlpTarget struct {
	protocol string
	// endpointURL is the full URL to export to, or "" for the exporter's
	// default (localhost).
	endpointURL string
}

// parseExportEnv reads the OTEL_* variables this module honours, failing on
// values it cannot act on rather than silently sending nothing.
//
// Only the selection (which exporter, which protocol, which endpoint) and the
// resource come from lookup. The OTLP exporters read the other
// OTEL_EXPORTER_OTLP_* variables (headers, timeout, compression,
// certificates) from the process environment themselves.
func parseExportEnv(lookup LookupEnv) (exportEnv, error) {
	var env exportEnv
	var errs []error
	var err error
	if env.traces, err = exporterNames(lookup, "OTEL_TRACES_EXPORTER"); err != nil {
		errs = append(errs, err)
	}
	if env.metrics, err = exporterNames(lookup, "OTEL_METRICS_EXPORTER"); err != nil {
		errs = append(errs, err)
	}
	if slices.Contains(env.traces, ExporterOTLP) {
		if env.tracesOTLP, err = parseOTLPTarget(lookup, signalTraces); err != nil {
			errs = append(errs, err)
		}
	}
	if slices.Contains(env.metrics, ExporterOTLP) {
		if env.metricsOTLP, err = parseOTLPTarget(lookup, signalMetrics); err != nil {
			errs = append(errs, err)
		}
	}
	if env.resource, err = parseResourceAttributes(lookup.get("OTEL_RESOURCE_ATTRIBUTES")); err != nil {
		errs = append(errs, err)
	}
	env.serviceName = lookup.get("OTEL_SERVICE_NAME")
	if env.serviceName == "" {
		for _, kv := range env.resource {
			if kv.Key == "service.name" {
				env.serviceName = kv.Value.AsString()
			}
		}
	}
	return env, errors.Join(errs...)
}

// exporterNames parses a comma-separated exporter list. Unset and "none"
// both mean no exporter: nothing is sent anywhere unless asked for.
func exporterNames(lookup LookupEnv, name string) ([]string, error) {
	raw := lookup.get(name)
	if raw == "" {
		return nil, nil
	}
	var out []string
	sawNone := false
	for item := range strings.SplitSeq(raw, ",") {
		switch item = strings.TrimSpace(item); item {
		case ExporterNone:
			sawNone = true
		case ExporterOTLP, ExporterConsole:
			if !slices.Contains(out, item) {
				out = append(out, item)
			}
		case "prometheus":
			return nil, fmt.Errorf("%s=prometheus: the Prometheus endpoint is configured with observability.metrics, not the environment; use otlp, console or none", name)
		default:
			return nil, fmt.Errorf("%s=%q: unsupported exporter %q; use otlp, console or none", name, raw, item)
		}
	}
	if sawNone && len(out) > 0 {
		return nil, fmt.Errorf("%s=%q: \"none\" cannot be combined with other exporters", name, raw)
	}
	return out, nil
}

// parseOTLPTarget applies the OTLP exporter spec's precedence: the signal's
// own variable, then the generic one. A generic HTTP endpoint is a base URL to
// which the signal's path is appended; a signal endpoint is used as is.
func parseOTLPTarget(lookup LookupEnv, s signal) (otlpTarget, error) {
	var t otlpTarget
	protoVar := "OTEL_EXPORTER_OTLP_" + s.env + "_PROTOCOL"
	t.protocol = lookup.get(protoVar)
	if t.protocol == "" {
		protoVar = "OTEL_EXPORTER_OTLP_PROTOCOL"
		t.protocol = lookup.get(protoVar)
	}
	switch t.protocol {
	case "":
		t.protocol = ProtocolHTTPProtobuf
	case ProtocolGRPC, ProtocolHTTPProtobuf:
	default:
		return t, fmt.Errorf("%s=%q: unsupported protocol; use grpc or http/protobuf", protoVar, t.protocol)
	}

	endpointVar := "OTEL_EXPORTER_OTLP_" + s.env + "_ENDPOINT"
	endpoint := lookup.get(endpointVar)
	signalSpecific := endpoint != ""
	if !signalSpecific {
		endpointVar = "OTEL_EXPORTER_OTLP_ENDPOINT"
		endpoint = lookup.get(endpointVar)
	}
	if endpoint == "" {
		return t, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return t, fmt.Errorf("%s=%q: must be an http:// or https:// URL", endpointVar, endpoint)
	}
	if !signalSpecific && t.protocol == ProtocolHTTPProtobuf {
		u = u.JoinPath(s.path)
	}
	t.endpointURL = u.String()
	return t, nil
}

// parseResourceAttributes parses OTEL_RESOURCE_ATTRIBUTES: key=value pairs
// separated by commas, values percent-encoded.
func parseResourceAttributes(raw string) ([]attribute.KeyValue, error) {
	if raw == "" {
		return nil, nil
	}
	var out []attribute.KeyValue
	for pair := range strings.SplitSeq(raw, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %q is not key=value", pair)
		}
		val, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: value of %s: %w", k, err)
		}
		out = append(out, attribute.String(k, val))
	}
	return out, nil
}
