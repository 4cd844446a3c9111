package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const instrumentationScope = "github.com/mcpfleet/mcpfleet/pkg/core/upstream"

// Attribute keys: OpenTelemetry HTTP semantic conventions, plus the
// upstream's configured name.
const (
	attrUpstream    = attribute.Key("mcpfleet.upstream")
	attrMethod      = attribute.Key("http.request.method")
	attrStatus      = attribute.Key("http.response.status_code")
	attrResendCount = attribute.Key("http.request.resend_count")
	attrServerAddr  = attribute.Key("server.address")
	attrServerPort  = attribute.Key("server.port")
	attrURLFull     = attribute.Key("url.full")
	attrErrorType   = attribute.Key("error.type")
	attrReason      = attribute.Key("mcpfleet.upstream.reason")
	attrResource    = attribute.Key("mcpfleet.upstream.rate_limit.resource")
)

// Refusal reasons: requests that were never sent.
const (
	refusedCircuitOpen       = "circuit_open"
	refusedInboundCredential = "inbound_credential"
	refusedRateLimit         = "rate_limit"
)

type instruments struct {
	duration  metric.Float64Histogram
	retries   metric.Int64Counter
	refusals  metric.Int64Counter
	circuit   metric.Int64Gauge
	remaining metric.Int64Gauge
	name      attribute.KeyValue
}

func newInstruments(mp metric.MeterProvider, name string) *instruments {
	m := mp.Meter(instrumentationScope)
	in := &instruments{name: attrUpstream.String(name)}
	// Creation fails only on invalid names, and these are constants; the
	// API returns usable no-op instruments even then.
	in.duration, _ = m.Float64Histogram("http.client.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of one upstream HTTP attempt, until response headers arrive."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10))
	in.retries, _ = m.Int64Counter("mcpfleet.upstream.retries", metric.WithUnit("{retry}"),
		metric.WithDescription("Upstream requests re-sent after a retryable failure, by reason (status code or error type)."))
	in.refusals, _ = m.Int64Counter("mcpfleet.upstream.refusals", metric.WithUnit("{request}"),
		metric.WithDescription("Upstream requests refused before sending: circuit_open, inbound_credential, rate_limit."))
	in.circuit, _ = m.Int64Gauge("mcpfleet.upstream.circuit.state", metric.WithUnit("1"),
		metric.WithDescription("Circuit breaker state: 0 closed, 1 half-open, 2 open."))
	in.remaining, _ = m.Int64Gauge("mcpfleet.upstream.rate_limit.remaining", metric.WithUnit("{request}"),
		metric.WithDescription("Requests left in the upstream's quota, as last reported by X-RateLimit-Remaining."))
	return in
}

func (in *instruments) refused(ctx context.Context, reason string) {
	in.refusals.Add(ctx, 1, metric.WithAttributes(in.name, attrReason.String(reason)))
}

// knownMethods are reported as is; anything else is "_OTHER", as the
// semantic conventions ask, to keep attribute cardinality bounded.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true, http.MethodTrace: true,
	http.MethodConnect: true,
}

func methodName(m string) string {
	if m == "" {
		return http.MethodGet
	}
	if knownMethods[m] {
		return m
	}
	return "_OTHER"
}

// serverAddress splits the request's host into address and port.
func serverAddress(u *url.URL) (string, int) {
	host, portStr, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, portStr = u.Host, ""
	}
	port, _ := strconv.Atoi(portStr)
	if port == 0 {
		switch u.Scheme {
		case "https":
			port = 443
		case "http":
			port = 80
		}
	}
	return host, port
}

// sensitiveQueryWords mark query parameters whose values are redacted in
// url.full: signed URLs (AWS, GCS, Azure SAS) and APIs that take tokens in
// the query string.
var sensitiveQueryWords = []string{"token", "key", "secret", "signature", "sig", "password", "credential", "auth", "code"}

const redactedValue = "REDACTED"

// redactURL renders u for telemetry without credentials: user info is
// replaced and the values of query parameters that look secret are
// redacted. The raw query is kept as sent otherwise, so paging parameters
// stay readable.
func redactURL(u *url.URL) string {
	r := *u
	if r.User != nil {
		r.User = url.UserPassword(redactedValue, redactedValue)
	}
	if r.RawQuery != "" {
		parts := strings.Split(r.RawQuery, "&")
		for i, part := range parts {
			name, _, hasValue := strings.Cut(part, "=")
			if !hasValue {
				continue
			}
			if decoded, err := url.QueryUnescape(name); err == nil {
				name = decoded
			}
			lower := strings.ToLower(name)
			for _, w := range sensitiveQueryWords {
				if strings.Contains(lower, w) {
					parts[i] = part[:strings.IndexByte(part, '=')+1] + redactedValue
					break
				}
			}
		}
		r.RawQuery = strings.Join(parts, "&")
	}
	r.Fragment, r.RawFragment = "", ""
	return r.String()
}

// errorType is the low-cardinality error.type of a failed attempt.
func errorType(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	if _, ok := errors.AsType[*net.DNSError](err); ok {
		return "dns_error"
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return "tls_error"
	}
	return "connection_error"
}
