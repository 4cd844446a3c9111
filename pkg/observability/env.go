package observability

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
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

// exportEnv is which exporters the OTEL_* environment selects. Only the
// choice is read here: the OTLP exporters read their own settings (endpoint,
// headers, timeout, compression, certificates, temporality) from the
// process environment, and the SDK reads the resource variables.
type exportEnv struct {
	traces, metrics []string // exporter names, "none" removed
	// tracesProtocol and metricsProtocol pick the OTLP exporter package,
	// which is the one choice the exporters cannot make themselves.
	tracesProtocol, metricsProtocol string
}

// parseExportEnv reads the exporter selection, failing on values it cannot
// act on rather than silently sending nothing.
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
		if env.tracesProtocol, err = otlpProtocol(lookup, "TRACES"); err != nil {
			errs = append(errs, err)
		}
	}
	if slices.Contains(env.metrics, ExporterOTLP) {
		if env.metricsProtocol, err = otlpProtocol(lookup, "METRICS"); err != nil {
			errs = append(errs, err)
		}
	}
	return env, joinDistinct(errs)
}

// joinDistinct joins errors, dropping repeats: a generic variable that is
// wrong for both signals is reported once.
func joinDistinct(errs []error) error {
	var seen []string
	var out []error
	for _, err := range errs {
		if msg := err.Error(); !slices.Contains(seen, msg) {
			seen = append(seen, msg)
			out = append(out, err)
		}
	}
	return errors.Join(out...)
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

// otlpProtocol reads a signal's OTLP protocol with the specification's
// precedence: OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL, then
// OTEL_EXPORTER_OTLP_PROTOCOL, then http/protobuf.
func otlpProtocol(lookup LookupEnv, signal string) (string, error) {
	name := "OTEL_EXPORTER_OTLP_" + signal + "_PROTOCOL"
	v := lookup.get(name)
	if v == "" {
		name = "OTEL_EXPORTER_OTLP_PROTOCOL"
		v = lookup.get(name)
	}
	switch v {
	case "", ProtocolHTTPProtobuf:
		return ProtocolHTTPProtobuf, nil
	case ProtocolGRPC:
		return ProtocolGRPC, nil
	default:
		return "", fmt.Errorf("%s=%q: unsupported protocol; use http/protobuf or grpc", name, v)
	}
}
