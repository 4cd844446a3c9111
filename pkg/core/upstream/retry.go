package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// idempotent reports whether req may be sent more than once: by method, or
// because the caller gave it an idempotency key (the same headers net/http
// honours for its own retries).
func idempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	_, ok := req.Header["Idempotency-Key"]
	if !ok {
		_, ok = req.Header["X-Idempotency-Key"]
	}
	return ok
}

// rewindable reports whether the body of req can be sent again.
func rewindable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// retryableError reports whether a transport error is worth another try:
// the connection failed or the attempt timed out, while the request as a
// whole (ctx) is still alive. TLS verification failures, bad URLs and the
// like fail the same way every time and are not retried.
func retryableError(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true // the per-attempt timeout
	}
	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok {
		return !dnsErr.IsNotFound
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	_, ok := errors.AsType[*net.OpError](err)
	return ok
}

// retryableStatus reports whether a response status is worth another try.
// A 403 is retried only when it is a rate limit (GitHub answers an
// exhausted quota with 403 and X-RateLimit-Remaining: 0, and secondary
// rate limits with 403 and Retry-After).
func (t *transport) retryableStatus(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	case http.StatusInternalServerError:
		return t.cfg.Retry.RetryOn500
	case http.StatusForbidden:
		return rateLimited(resp.Header)
	}
	return false
}

func rateLimited(h http.Header) bool {
	return h.Get("Retry-After") != "" || (h.Get("X-RateLimit-Remaining") == "0" && h.Get("X-RateLimit-Reset") != "")
}

// serverDelay is how long the upstream asked us to wait: Retry-After in
// seconds or as an HTTP date, else the X-RateLimit-Reset of an exhausted
// quota. ok is false when the response says nothing.
func serverDelay(h http.Header, now time.Time) (d time.Duration, ok bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
			return max(0, secondsDuration(secs)), true
		}
		if at, err := http.ParseTime(v); err == nil {
			return max(0, at.Sub(now)), true
		}
	}
	if strings.TrimSpace(h.Get("X-RateLimit-Remaining")) == "0" {
		if at, ok := parseReset(h.Get("X-RateLimit-Reset"), now); ok {
			return max(0, at.Sub(now)), true
		}
	}
	return 0, false
}

// parseReset reads X-RateLimit-Reset. GitHub and most APIs send Unix epoch
// seconds; some send seconds until the reset. Anything below 10^9 (2001)
// cannot be a current epoch, so it is read as a delay.
func parseReset(v string, now time.Time) (time.Time, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, false
	}
	if n < 1e9 {
		return now.Add(secondsDuration(n)), true
	}
	return time.Unix(n, 0), true
}

// secondsDuration converts without overflowing on absurd header values.
func secondsDuration(secs int64) time.Duration {
	const maxSecs = int64(1<<63-1) / int64(time.Second)
	if secs > maxSecs {
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(secs) * time.Second
}

// newBackOff returns one request's retry schedule: cenkalti/backoff's
// exponential backoff, the policy the OpenTelemetry OTLP exporters use for
// their retries too. Retry n (from 0) waits about BackoffBase*2^n, capped at
// BackoffMax, randomised by ±50% so that clients that failed together do
// not retry together. The request's deadline, not the backoff, bounds the
// total.
func (t *transport) newBackOff() *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval:     t.cfg.Retry.BackoffBase,
		RandomizationFactor: backoffJitter,
		Multiplier:          2,
		MaxInterval:         t.cfg.Retry.BackoffMax,
	}
}

// backoffJitter is the randomisation factor of [transport.newBackOff].
const backoffJitter = 0.5

// drain reads a little of a discarded response so its connection can be
// reused, then closes it.
func drain(resp *http.Response) {
	if resp == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
