package upstream

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Config configures one upstream client. Domain servers embed it in their
// config section (github.upstream, slack.upstream, ...).
type Config struct {
	// Name identifies the upstream in spans, metrics, logs and errors
	// ("github"); lower case letters, digits, '_', '-' and '.'.
	Name string `yaml:"name"`
	// Timeout bounds one attempt, from sending the request to reading the
	// last byte of the response body.
	Timeout time.Duration `yaml:"timeout"`
	// Deadline bounds a whole request: every attempt, every backoff and
	// every rate-limit wait, and reading the final body. A shorter deadline
	// on the request's context wins.
	Deadline  time.Duration `yaml:"deadline"`
	Retry     Retry         `yaml:"retry"`
	RateLimit RateLimit     `yaml:"rate_limit"`
	Breaker   Breaker       `yaml:"breaker"`
	// MaxIdleConnsPerHost keeps this many idle connections per upstream
	// host for reuse. net/http's default of 2 makes concurrent tool calls
	// open a new connection (and TLS handshake) each.
	MaxIdleConnsPerHost int `yaml:"max_idle_conns_per_host"`
}

// Retry configures retries of idempotent requests.
type Retry struct {
	// MaxRetries is how many times a request is re-sent after the first
	// attempt; 0 turns retries off.
	MaxRetries int `yaml:"max_retries"`
	// BackoffBase and BackoffMax shape the exponential backoff
	// (cenkalti/backoff/v5, as the OTLP exporters use): before retry n
	// (from 0) the client waits min(BackoffMax, BackoffBase*2^n) ±50%,
	// unless the upstream said how long to wait (Retry-After,
	// X-RateLimit-Reset).
	BackoffBase time.Duration `yaml:"backoff_base"`
	BackoffMax  time.Duration `yaml:"backoff_max"`
	// RetryOn500 also retries 500 Internal Server Error. Off by default:
	// a 500 is usually a bug on the other side that a retry repeats.
	RetryOn500 bool `yaml:"retry_on_500"`
	// RateLimitedWrites also retries non-idempotent requests (POST, PATCH)
	// that a rate limit refused (429, or 403 with rate-limit headers): the
	// upstream did not act on them, so sending them again cannot repeat a
	// side effect. On by default.
	RateLimitedWrites bool `yaml:"rate_limited_writes"`
}

// RateLimit is a client-side token bucket applied before every attempt, so
// that one server stays under an upstream's quota instead of discovering it
// through 429s.
type RateLimit struct {
	// RequestsPerSecond is the sustained rate; 0 turns the limiter off.
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	// Burst is how many requests may go at once after a quiet period.
	Burst int `yaml:"burst"`
}

// Breaker configures the circuit breaker: after FailureThreshold
// consecutive failures (5xx responses or connection errors; 4xx answers
// are the caller's problem, not an outage) requests fail fast for
// OpenDuration, then one probe request is let through: its success closes
// the circuit, its failure opens it again.
type Breaker struct {
	// FailureThreshold is the number of consecutive failures that opens
	// the circuit; 0 turns the breaker off.
	FailureThreshold int           `yaml:"failure_threshold"`
	OpenDuration     time.Duration `yaml:"open_duration"`
}

// NewDefaultConfig returns defaults suited to a SaaS API behind a tool
// call: the deadline fits inside core's default 60s tool timeout.
func NewDefaultConfig() Config {
	return Config{
		Name:     "upstream",
		Timeout:  20 * time.Second,
		Deadline: 45 * time.Second,
		Retry: Retry{
			MaxRetries:        3,
			BackoffBase:       250 * time.Millisecond,
			BackoffMax:        10 * time.Second,
			RateLimitedWrites: true,
		},
		RateLimit: RateLimit{Burst: 10},
		Breaker: Breaker{
			FailureThreshold: 5,
			OpenDuration:     30 * time.Second,
		},
		MaxIdleConnsPerHost: 32,
	}
}

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

// maxRetries bounds Retry.MaxRetries: beyond it retries only add load to an
// upstream that is already failing.
const maxRetries = 10

// Validate reports every problem in c.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !validName.MatchString(c.Name) {
		add("upstream name %q must be 1-63 lower case letters, digits, '_', '-' or '.'", c.Name)
	}
	if c.Timeout <= 0 {
		add("upstream %s: timeout must be positive", c.Name)
	}
	if c.Deadline < c.Timeout {
		add("upstream %s: deadline (%s) must be at least the per-attempt timeout (%s)", c.Name, c.Deadline, c.Timeout)
	}
	r := c.Retry
	if r.MaxRetries < 0 || r.MaxRetries > maxRetries {
		add("upstream %s: retry.max_retries must be between 0 and %d", c.Name, maxRetries)
	}
	if r.MaxRetries > 0 {
		if r.BackoffBase <= 0 {
			add("upstream %s: retry.backoff_base must be positive", c.Name)
		}
		if r.BackoffMax < r.BackoffBase {
			add("upstream %s: retry.backoff_max must be at least retry.backoff_base", c.Name)
		}
	}
	if c.RateLimit.RequestsPerSecond < 0 {
		add("upstream %s: rate_limit.requests_per_second must not be negative", c.Name)
	}
	if c.RateLimit.RequestsPerSecond > 0 && c.RateLimit.Burst < 1 {
		add("upstream %s: rate_limit.burst must be at least 1", c.Name)
	}
	if c.Breaker.FailureThreshold < 0 {
		add("upstream %s: breaker.failure_threshold must not be negative", c.Name)
	}
	if c.Breaker.FailureThreshold > 0 && c.Breaker.OpenDuration <= 0 {
		add("upstream %s: breaker.open_duration must be positive", c.Name)
	}
	if c.MaxIdleConnsPerHost < 0 {
		add("upstream %s: max_idle_conns_per_host must not be negative", c.Name)
	}
	return errors.Join(errs...)
}
