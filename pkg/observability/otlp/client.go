package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"google.golang.org/protobuf/encoding/protowire"
)

// signal is what one exporter sends.
type signal struct {
	name            string // in messages: "traces", "metrics"
	items           string // what a partial success counts: "spans", "data points"
	defaultEndpoint string
}

var (
	signalTraces  = signal{name: "traces", items: "spans", defaultEndpoint: DefaultTracesEndpoint}
	signalMetrics = signal{name: "metrics", items: "data points", defaultEndpoint: DefaultMetricsEndpoint}
)

const (
	contentTypeProtobuf = "application/x-protobuf"
	userAgent           = "mcpfleet-otlp-exporter (Go; OTLP/HTTP protobuf)"
	// maxResponseBytes bounds what is read of a response: a receiver's
	// answer is a few bytes, and a misbehaving one must not cost memory.
	maxResponseBytes = 64 << 10
	// maxErrorText bounds the receiver text quoted in an error.
	maxErrorText = 256
)

// errShutdown is what send returns once the exporter is shut down; each
// exporter turns it into its SDK contract's error.
var errShutdown = errors.New("OTLP exporter is shut down")

// PartialSuccessError reports a response in which the receiver accepted the
// request but rejected part of it. The rest was stored, so it is never
// retried.
type PartialSuccessError struct {
	// Signal is "traces" or "metrics".
	Signal string
	// Rejected is how many spans or data points were rejected.
	Rejected int64
	// Message is the receiver's explanation (may be empty).
	Message string
}

func (e *PartialSuccessError) Error() string {
	items := signalTraces.items
	if e.Signal == signalMetrics.name {
		items = signalMetrics.items
	}
	return fmt.Sprintf("OTLP receiver partially accepted the %s: %d %s rejected: %q", e.Signal, e.Rejected, items, e.Message)
}

// retryableError is a failed attempt worth repeating.
type retryableError struct {
	err        error
	retryAfter time.Duration // the response's Retry-After, 0 if none
}

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// client POSTs encoded requests to one endpoint.
type client struct {
	sig      signal
	endpoint string // the URL requests go to
	redacted string // the URL as errors show it: no password
	headers  http.Header
	timeout  time.Duration
	gzip     bool
	retry    Retry

	transport *http.Transport
	http      *http.Client
	gzipPool  sync.Pool

	// stopCtx is cancelled by shutdown, cancelling exports in flight.
	stopCtx context.Context
	stop    context.CancelFunc
	mu      sync.Mutex // guards stopped and adding to active
	stopped bool
	active  sync.WaitGroup

	// lastSize is the size of the previous request body, to allocate the
	// next one at about the right size.
	lastSize atomic.Int64

	// sleep waits between attempts; tests replace it to observe the delays
	// without waiting them out.
	sleep func(ctx context.Context, d time.Duration) error
}

func newClient(cfg Config, sig signal) (*client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = sig.defaultEndpoint
	}
	u, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	headers := http.Header{}
	headers.Set("User-Agent", userAgent)
	for k, v := range cfg.Headers {
		headers.Set(k, v)
	}
	// Set last: configured headers must not change the body's description.
	headers.Set("Content-Type", contentTypeProtobuf)
	gz := cfg.Compression == CompressionGzip
	if gz {
		headers.Set("Content-Encoding", "gzip")
	}
	var tlsCfg *tls.Config
	if cfg.TLS != nil {
		tlsCfg = cfg.TLS.Clone()
	}
	// An own transport, not http.DefaultTransport: Shutdown closes its idle
	// connections, so that no connection goroutine outlives the exporter.
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	stopCtx, stop := context.WithCancel(context.Background())
	c := &client{
		sig:       sig,
		endpoint:  u.String(),
		redacted:  u.Redacted(),
		headers:   headers,
		timeout:   cfg.Timeout,
		gzip:      gz,
		retry:     cfg.Retry,
		transport: transport,
		http:      &http.Client{Transport: transport},
		stopCtx:   stopCtx,
		stop:      stop,
		sleep:     sleepCtx,
	}
	c.gzipPool.New = func() any { return gzip.NewWriter(nil) }
	return c, nil
}

// bodySizeHint is the capacity to allocate for the next request body.
func (c *client) bodySizeHint() int {
	return min(int(c.lastSize.Load())+4<<10, 64<<20)
}

// begin registers an export unless the client is shut down.
func (c *client) begin() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return false
	}
	c.active.Add(1)
	return true
}

// send delivers one encoded request, retrying within ctx and the timeout.
func (c *client) send(ctx context.Context, body []byte) error {
	if !c.begin() {
		return errShutdown
	}
	defer c.active.Done()
	c.lastSize.Store(int64(len(body)))

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	defer context.AfterFunc(c.stopCtx, cancel)()
	defer func() {
		// A connection that went idle after shutdown closed the idle ones
		// would otherwise linger until IdleConnTimeout.
		if c.stopCtx.Err() != nil {
			c.transport.CloseIdleConnections()
		}
	}()

	payload := body
	if c.gzip {
		var err error
		if payload, err = c.compress(body); err != nil {
			return err
		}
	}
	for attempt := 0; ; attempt++ {
		err := c.post(ctx, payload)
		var re *retryableError
		if err == nil || !errors.As(err, &re) || c.retry.Disabled {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (last attempt: %w)", context.Cause(ctx), err)
		}
		delay := max(c.backoff(attempt), re.retryAfter)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < delay {
			return fmt.Errorf("%w; not retried: the next attempt, in %s, would be after the export deadline", err, delay.Round(time.Millisecond))
		}
		if serr := c.sleep(ctx, delay); serr != nil {
			return fmt.Errorf("%w (last attempt: %w)", serr, err)
		}
	}
}

// sleepCtx waits for d or until ctx is done, returning the context's cause
// in that case.
func sleepCtx(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-timer.C:
		return nil
	}
}

// backoff is the wait after failed attempt number attempt (from 0): the
// initial interval doubled per attempt, ±50% jitter, capped.
func (c *client) backoff(attempt int) time.Duration {
	d := c.retry.InitialInterval << min(attempt, 30)
	if d <= 0 || d > c.retry.MaxInterval {
		d = c.retry.MaxInterval
	}
	d = time.Duration(float64(d) * (0.5 + rand.Float64())) //nolint:gosec // jitter, not security
	return min(d, c.retry.MaxInterval)
}

func (c *client) compress(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(body)/4 + 64)
	zw := c.gzipPool.Get().(*gzip.Writer)
	defer c.gzipPool.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(body); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return buf.Bytes(), nil
}

// post makes one attempt. It returns nil, a *PartialSuccessError, a
// *retryableError, or a permanent error.
func (c *client) post(ctx context.Context, payload []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("OTLP request to %s: %w", c.redacted, err)
	}
	req.Header = c.headers.Clone()
	resp, err := c.http.Do(req)
	if err != nil {
		// url.Error repeats the URL, which may hold a password; keep only
		// the cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		err = fmt.Errorf("POST %s: %w", c.redacted, err)
		if ctx.Err() != nil || isPermanentTransportError(err) {
			return err
		}
		return &retryableError{err: err}
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))

	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		// The data was accepted; a body that cannot be read or parsed
		// changes nothing about that.
		if readErr != nil || !isProtobuf(resp.Header) {
			return nil
		}
		rejected, msg, err := parsePartialSuccess(body)
		if err != nil || (rejected == 0 && msg == "") {
			return nil
		}
		return &PartialSuccessError{Signal: c.sig.name, Rejected: rejected, Message: msg}
	}

	err = fmt.Errorf("POST %s: %s: %s", c.redacted, resp.Status, errorText(resp.Header, body))
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return &retryableError{err: err, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	return err
}

// isPermanentTransportError reports failures that another attempt cannot
// fix: TLS misconfiguration on either side.
func isPermanentTransportError(err error) bool {
	var certErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	return errors.As(err, &certErr) || errors.As(err, &recordErr)
}

func isProtobuf(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && mt == contentTypeProtobuf
}

// errorText is the explanation in an error response: the message of a
// google.rpc.Status body, as OTLP/HTTP receivers send, or else the start of
// a text body.
func errorText(h http.Header, body []byte) string {
	text := string(body)
	if isProtobuf(h) {
		msg, err := parseStatusMessage(body)
		if err != nil {
			return "(unparsable Status body)"
		}
		text = msg
	}
	text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.TrimSpace(text))
	if len(text) > maxErrorText {
		text = strings.ToValidUTF8(text[:maxErrorText], "") + "..."
	}
	if text == "" {
		return "(no message)"
	}
	return text
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
// Anything else, or a time in the past, is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now))
	}
	return 0
}

// shutdown cancels exports in flight, waits for them (within ctx), refuses
// later ones and closes idle connections. A second call returns
// errShutdown.
func (c *client) shutdown(ctx context.Context) error {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return errShutdown
	}
	c.stopped = true
	c.mu.Unlock()
	c.stop()

	done := make(chan struct{})
	go func() {
		c.active.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	c.transport.CloseIdleConnections()
	return err
}

// parsePartialSuccess reads an Export{Trace,Metrics}ServiceResponse, whose
// partial_success (1) holds the rejected count (1, int64) and an error
// message (2).
func parsePartialSuccess(b []byte) (rejected int64, msg string, err error) {
	var ps []byte
	err = walk(b, func(num protowire.Number, typ protowire.Type, _ uint64, v []byte) {
		if num == 1 && typ == protowire.BytesType {
			ps = v
		}
	})
	if err != nil || ps == nil {
		return 0, "", err
	}
	err = walk(ps, func(num protowire.Number, typ protowire.Type, n uint64, v []byte) {
		switch {
		case num == 1 && typ == protowire.VarintType:
			rejected = int64(n) //nolint:gosec // int64 is two's complement on the wire
		case num == 2 && typ == protowire.BytesType:
			msg = string(v)
		}
	})
	return rejected, msg, err
}

// parseStatusMessage reads the message (2) of a google.rpc.Status.
func parseStatusMessage(b []byte) (string, error) {
	var msg string
	err := walk(b, func(num protowire.Number, typ protowire.Type, _ uint64, v []byte) {
		if num == 2 && typ == protowire.BytesType {
			msg = string(v)
		}
	})
	return msg, err
}

// walk calls f for each varint and length-delimited field of a message,
// skipping the others.
func walk(b []byte, f func(num protowire.Number, typ protowire.Type, varint uint64, bytes []byte)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			var v uint64
			v, n = protowire.ConsumeVarint(b)
			if n >= 0 {
				f(num, typ, v, nil)
			}
		case protowire.BytesType:
			var v []byte
			v, n = protowire.ConsumeBytes(b)
			if n >= 0 {
				f(num, typ, 0, v)
			}
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
	}
	return nil
}
