package otlp

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Default endpoints, as the OTLP exporter specification sets them for
// http/protobuf.
const (
	DefaultTracesEndpoint  = "http://localhost:4318/v1/traces"
	DefaultMetricsEndpoint = "http://localhost:4318/v1/metrics"
)

// Compression is the request body encoding.
type Compression string

// Compressions the exporters support (OTEL_EXPORTER_OTLP_COMPRESSION).
const (
	CompressionNone Compression = "none"
	CompressionGzip Compression = "gzip"
)

// Config is where and how an exporter sends one signal.
type Config struct {
	// Endpoint is the full URL requests are POSTed to, path included, e.g.
	// http://collector:4318/v1/traces. Empty means the signal's default
	// (DefaultTracesEndpoint, DefaultMetricsEndpoint).
	Endpoint string
	// Headers are sent with every request (authentication, tenancy). Their
	// values never appear in errors or logs.
	Headers map[string]string
	// Timeout bounds one export, retries included.
	Timeout time.Duration
	// Compression is CompressionNone or CompressionGzip ("" means none).
	Compression Compression
	// TLS configures https endpoints; nil means the system roots. See
	// [LoadTLS].
	TLS *tls.Config
	// Retry is the backoff for retryable failures.
	Retry Retry
}

// Retry is the exponential backoff between attempts of one export, used for
// responses the OTLP specification calls retryable (429, 502, 503, 504) and
// for connection failures. A Retry-After header on the response is honoured
// when longer. Retries never outlast the export's deadline: when the next
// attempt would start after it, the export fails at once.
type Retry struct {
	// Disabled makes every failure final.
	Disabled bool
	// InitialInterval is the wait after the first failure; each further
	// failure doubles it, with ±50% jitter.
	InitialInterval time.Duration
	// MaxInterval caps the wait.
	MaxInterval time.Duration
}

// NewDefaultConfig returns the specification's defaults: the signal's
// localhost endpoint, a 10s timeout, no compression, retries from 1s up to
// 30s apart.
func NewDefaultConfig() Config {
	return Config{
		Timeout:     10 * time.Second,
		Compression: CompressionNone,
		Retry:       Retry{InitialInterval: time.Second, MaxInterval: 30 * time.Second},
	}
}

// Validate reports every problem with the config at once. Header values are
// never included in the errors: they often hold credentials.
func (c Config) Validate() error {
	var errs []error
	if c.Endpoint != "" {
		if _, err := parseEndpoint(c.Endpoint); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("OTLP timeout must be positive, got %s", c.Timeout))
	}
	switch c.Compression {
	case "", CompressionNone, CompressionGzip:
	default:
		errs = append(errs, fmt.Errorf("OTLP compression %q is not supported; use gzip or none", c.Compression))
	}
	for name, value := range c.Headers {
		if !isToken(name) {
			errs = append(errs, fmt.Errorf("OTLP header name %q is not a valid HTTP header name", name))
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			errs = append(errs, fmt.Errorf("OTLP header %s has a value with a line break or NUL", name))
		}
	}
	if !c.Retry.Disabled && (c.Retry.InitialInterval <= 0 || c.Retry.MaxInterval < c.Retry.InitialInterval) {
		errs = append(errs, fmt.Errorf("OTLP retry intervals must satisfy 0 < initial (%s) <= max (%s)", c.Retry.InitialInterval, c.Retry.MaxInterval))
	}
	return errors.Join(errs...)
}

// parseEndpoint checks an endpoint URL. Errors show it without a password.
func parseEndpoint(endpoint string) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, errors.New("OTLP endpoint is not a valid URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("OTLP endpoint %q must be an http:// or https:// URL", u.Redacted())
	}
	return u, nil
}

// isToken reports whether s is an RFC 9110 token, the syntax of a header
// name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// LoadTLS builds the TLS configuration of OTEL_EXPORTER_OTLP_CERTIFICATE,
// _CLIENT_CERTIFICATE and _CLIENT_KEY: the system roots plus the PEM
// certificates in caFile, and the client key pair in certFile and keyFile
// (both or neither). All empty returns nil, meaning the defaults.
func LoadTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	if caFile == "" && certFile == "" && keyFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("OTLP CA certificate: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("OTLP CA certificate %s: no PEM certificate found", caFile)
		}
		cfg.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("OTLP client certificate and client key must be given together")
	}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("OTLP client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}
