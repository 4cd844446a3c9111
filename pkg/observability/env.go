package observability

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/mcpfleet/mcpfleet/pkg/observability/otlp"
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

// otlpTarget is where and how an OTLP exporter sends one signal.
type otlpTarget struct {
	protocol string
	// endpointURL is the full URL to export to, or "" for the exporter's
	// default (localhost).
	endpointURL string
	headers     map[string]string // nil: none
	timeout     time.Duration     // 0: the exporter's default, 10s
	gzip        bool
	tls         *tls.Config // nil: system roots, no client certificate
	// metric holds the metrics signal's temporality and histogram choices.
	metric otlp.MetricOptions
}

// httpConfig is the target as the in-repo OTLP/HTTP exporter's config.
func (t otlpTarget) httpConfig() otlp.Config {
	cfg := otlp.NewDefaultConfig()
	cfg.Endpoint = t.endpointURL
	cfg.Headers = t.headers
	if t.timeout > 0 {
		cfg.Timeout = t.timeout
	}
	if t.gzip {
		cfg.Compression = otlp.CompressionGzip
	}
	cfg.TLS = t.tls
	return cfg
}

// parseExportEnv reads the OTEL_* variables this module honours, failing on
// values it cannot act on rather than silently sending nothing. Every
// variable is read through lookup, never from the process environment
// directly, so that tests and embedders control all of them.
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

// otlpVar returns the value of an OTLP exporter setting and the variable
// it came from, applying the specification's precedence: the signal's own
// variable (OTEL_EXPORTER_OTLP_TRACES_HEADERS), then the generic one
// (OTEL_EXPORTER_OTLP_HEADERS).
func otlpVar(lookup LookupEnv, s signal, setting string) (value, name string) {
	name = "OTEL_EXPORTER_OTLP_" + s.env + "_" + setting
	if value = lookup.get(name); value != "" {
		return value, name
	}
	name = "OTEL_EXPORTER_OTLP_" + setting
	return lookup.get(name), name
}

// parseOTLPTarget reads one signal's OTLP exporter settings, reporting
// every bad value at once. A generic HTTP endpoint is a base URL to which
// the signal's path is appended; a signal endpoint is used as is.
func parseOTLPTarget(lookup LookupEnv, s signal) (otlpTarget, error) {
	var t otlpTarget
	var errs []error
	protocol, protoVar := otlpVar(lookup, s, "PROTOCOL")
	switch protocol {
	case "", ProtocolHTTPProtobuf:
		t.protocol = ProtocolHTTPProtobuf
	case ProtocolGRPC:
		if !grpcLinked {
			return t, fmt.Errorf("%s=grpc: this build exports OTLP over http/protobuf; rebuild with -tags otlpgrpc for gRPC", protoVar)
		}
		t.protocol = ProtocolGRPC
	default:
		return t, fmt.Errorf("%s=%q: unsupported protocol; use http/protobuf or grpc", protoVar, protocol)
	}

	if endpoint, name := otlpVar(lookup, s, "ENDPOINT"); endpoint != "" {
		u, err := url.Parse(endpoint)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			// The value is not quoted: an endpoint URL may hold a password.
			errs = append(errs, fmt.Errorf("%s: must be an http:// or https:// URL", name))
		case name == "OTEL_EXPORTER_OTLP_ENDPOINT" && t.protocol == ProtocolHTTPProtobuf:
			t.endpointURL = u.JoinPath(s.path).String()
		default:
			t.endpointURL = u.String()
		}
	}

	var err error
	if raw, name := otlpVar(lookup, s, "HEADERS"); raw != "" {
		if t.headers, err = parseHeaders(name, raw); err != nil {
			errs = append(errs, err)
		}
	}
	if raw, name := otlpVar(lookup, s, "TIMEOUT"); raw != "" {
		ms, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || ms <= 0 || ms > int64(time.Hour/time.Millisecond) {
			errs = append(errs, fmt.Errorf("%s=%q: must be a number of milliseconds between 1 and 3600000", name, raw))
		} else {
			t.timeout = time.Duration(ms) * time.Millisecond
		}
	}
	if raw, name := otlpVar(lookup, s, "COMPRESSION"); raw != "" {
		switch raw {
		case "gzip":
			t.gzip = true
		case "none":
		default:
			errs = append(errs, fmt.Errorf("%s=%q: unsupported compression; use gzip or none", name, raw))
		}
	}
	var files [3]string // CA, client certificate, client key
	var fileVars []string
	for i, setting := range []string{"CERTIFICATE", "CLIENT_CERTIFICATE", "CLIENT_KEY"} {
		var name string
		if files[i], name = otlpVar(lookup, s, setting); files[i] != "" {
			fileVars = append(fileVars, name)
		}
	}
	if t.tls, err = otlp.LoadTLS(files[0], files[1], files[2]); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", strings.Join(fileVars, ", "), err))
	}

	if s == signalMetrics {
		if raw := lookup.get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"); raw != "" {
			if t.metric.Temporality, err = otlp.ParseTemporality(raw); err != nil {
				errs = append(errs, fmt.Errorf("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: %w", err))
			}
		}
		switch raw := lookup.get("OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"); raw {
		case "", "explicit_bucket_histogram":
		case "base2_exponential_bucket_histogram":
			t.metric.ExponentialHistograms = true
		default:
			errs = append(errs, fmt.Errorf("OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=%q: use explicit_bucket_histogram or base2_exponential_bucket_histogram", raw))
		}
	}
	if len(errs) == 0 {
		// What the exporter itself would refuse (a header name that is not
		// a token, a value with a line break), reported at parse time.
		if err := t.httpConfig().Validate(); err != nil {
			errs = append(errs, fmt.Errorf("OTEL_EXPORTER_OTLP_* (%s): %w", strings.ToLower(s.env), err))
		}
	}
	return t, errors.Join(errs...)
}

// parseHeaders parses an OTLP headers variable: key=value pairs separated
// by commas, values percent-encoded. Values never appear in errors: they
// are usually credentials.
func parseHeaders(name, raw string) (map[string]string, error) {
	headers := map[string]string{}
	for pair := range strings.SplitSeq(raw, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%s: an entry is not key=value", name)
		}
		val, err := url.PathUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("%s: the value of %s is not valid percent-encoding", name, k)
		}
		headers[k] = strings.TrimSpace(val)
	}
	return headers, nil
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
