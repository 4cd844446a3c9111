package upstream

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
)

// ErrRateLimited is returned, wrapped, when the client-side rate limiter
// cannot grant a request slot before the request's deadline.
var ErrRateLimited = errors.New("client-side rate limit reached")

// transport is the RoundTripper behind every upstream client.
type transport struct {
	cfg     Config
	base    http.RoundTripper
	clock   Clock
	tracer  trace.Tracer
	prop    propagation.TextMapPropagator
	logger  *slog.Logger
	inst    *instruments
	quotas  *quotas
	limiter *rate.Limiter // nil: no client-side limit
	breaker *breaker      // nil: no breaker
	secrets *Secrets      // removed from response bodies (scrub.go)
}

// RoundTrip implements http.RoundTripper. It never modifies req, and it
// closes req.Body on every path, as the interface requires.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		closeBody(req.Body)
		return nil, t.errorf("request has no URL")
	}
	if carriesInboundCredential(req) {
		closeBody(req.Body)
		t.inst.refused(req.Context(), refusedInboundCredential)
		t.logger.Warn("upstream request refused: it carries the MCP client's own credential",
			"principal", authn.FromContext(req.Context()).ID(), "host", req.URL.Host)
		return nil, t.errorf("%w; the server must call %s with its own upstream credential", ErrInboundCredential, req.URL.Host)
	}

	t.secrets.learn(req)
	ctx, cancel := context.WithTimeout(req.Context(), t.cfg.Deadline)
	// A write may still be retried when a rate limit refused it (retryPlan).
	mayRetry := t.cfg.Retry.MaxRetries > 0 && rewindable(req)
	once := !idempotent(req)
	bo := t.newBackOff()
	for n := 0; ; n++ {
		a := t.attempt(ctx, req, n)
		wait, reason, again := t.retryPlan(ctx, req, mayRetry, once, n, bo, a)
		if !again {
			if a.err != nil {
				a.release()
				cancel()
				if n > 0 {
					t.logger.Debug("upstream request failed after retries", "method", req.Method,
						"host", req.URL.Host, "path", req.URL.Path, "attempts", n+1)
				}
				// Transport errors go back unwrapped: url.Error.Timeout and
				// SDK retry classifiers use type assertions on them.
				return nil, a.err
			}
			// The deadlines keep running while the caller reads the body.
			a.resp.Body = &releasingBody{ReadCloser: a.resp.Body, release: func() { a.release(); cancel() }}
			t.secrets.scrubResponse(a.resp)
			return a.resp, nil
		}
		drain(a.resp)
		a.release()
		t.inst.retries.Add(ctx, 1, metric.WithAttributes(t.inst.name, attrReason.String(reason)))
		t.logger.Debug("upstream request retried", "method", req.Method, "host", req.URL.Host,
			"path", req.URL.Path, "attempt", n+1, "reason", reason, "wait", wait)
		if err := t.clock.Sleep(ctx, wait); err != nil {
			cancel()
			return nil, t.errorf("%s %s: waiting %s to retry after %s: %w", req.Method, req.URL.Host, wait.Round(time.Millisecond), reason, err)
		}
	}
}

// attemptResult is one attempt's outcome.
type attemptResult struct {
	resp *http.Response
	err  error
	// sent is false when the request never left (breaker, limiter, body).
	sent bool
	// release ends the attempt's timeout; call it once the response body
	// is done with.
	release context.CancelFunc
}

func (t *transport) attempt(ctx context.Context, req *http.Request, n int) attemptResult {
	noop := func() {}
	body := req.Body
	if n > 0 && body != nil && body != http.NoBody {
		var err error
		if body, err = req.GetBody(); err != nil {
			return attemptResult{err: t.errorf("rewinding the request body for a retry: %w", err), release: noop}
		}
	}
	probe, err := t.breaker.allow()
	if err != nil {
		closeBody(body)
		t.inst.refused(ctx, refusedCircuitOpen)
		return attemptResult{err: err, release: noop}
	}
	if err := t.waitLimiter(ctx); err != nil {
		closeBody(body)
		t.breaker.record(probe, outcomeIgnored)
		return attemptResult{err: err, release: noop}
	}

	actx, release := context.WithTimeout(ctx, t.cfg.Timeout)
	method := methodName(req.Method)
	host, port := serverAddress(req.URL)
	attrs := []attribute.KeyValue{
		t.inst.name,
		attrMethod.String(method),
		attrServerAddr.String(host),
		attrServerPort.Int(port),
	}
	spanAttrs := append(attrs[:len(attrs):len(attrs)], attrURLFull.String(redactURL(req.URL)))
	if n > 0 {
		spanAttrs = append(spanAttrs, attrResendCount.Int(n))
	}
	actx, span := t.tracer.Start(actx, method, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(spanAttrs...))
	defer span.End()

	out := req.Clone(actx)
	out.Body = body
	stripInboundHeaders(out.Header)
	t.prop.Inject(actx, propagation.HeaderCarrier(out.Header))

	start := time.Now()
	resp, err := t.base.RoundTrip(out)
	elapsed := time.Since(start).Seconds()

	if err != nil {
		et := errorType(err)
		span.RecordError(err)
		span.SetStatus(codes.Error, et)
		span.SetAttributes(attrErrorType.String(et))
		t.inst.duration.Record(ctx, elapsed, metric.WithAttributes(append(attrs, attrErrorType.String(et))...))
		o := outcomeFailure
		if ctx.Err() != nil {
			// The caller gave up (or the whole request ran out of time):
			// that says nothing about the upstream's health.
			o = outcomeIgnored
		}
		t.breaker.record(probe, o)
		return attemptResult{err: err, sent: true, release: release}
	}

	attrs = append(attrs, attrStatus.Int(resp.StatusCode))
	span.SetAttributes(attrStatus.Int(resp.StatusCode))
	if resp.StatusCode >= 400 {
		et := strconv.Itoa(resp.StatusCode)
		attrs = append(attrs, attrErrorType.String(et))
		span.SetAttributes(attrErrorType.String(et))
		span.SetStatus(codes.Error, "")
	}
	t.inst.duration.Record(ctx, elapsed, metric.WithAttributes(attrs...))
	if resp.StatusCode >= 500 {
		t.breaker.record(probe, outcomeFailure)
	} else {
		t.breaker.record(probe, outcomeSuccess)
	}
	if rl, ok := t.quotas.observe(resp.Header, t.clock.Now()); ok {
		t.inst.remaining.Record(ctx, rl.Remaining, metric.WithAttributes(t.inst.name, attrResource.String(rl.Resource)))
	}
	return attemptResult{resp: resp, sent: true, release: release}
}

// retryPlan decides whether attempt n is followed by another, and after
// how long.
func (t *transport) retryPlan(ctx context.Context, req *http.Request, mayRetry, once bool, n int, bo backoff.BackOff, a attemptResult) (wait time.Duration, reason string, again bool) {
	if !mayRetry || !a.sent || n >= t.cfg.Retry.MaxRetries {
		return 0, "", false
	}
	if once {
		// A non-idempotent request is sent again only when the upstream
		// refused it for a rate limit, and so never acted on it.
		refused := a.err == nil && t.cfg.Retry.RateLimitedWrites &&
			(a.resp.StatusCode == http.StatusTooManyRequests || (a.resp.StatusCode == http.StatusForbidden && rateLimited(a.resp.Header)))
		if !refused {
			return 0, "", false
		}
	}
	if a.err != nil {
		if !retryableError(ctx, a.err) {
			return 0, "", false
		}
		wait, reason = bo.NextBackOff(), errorType(a.err)
	} else {
		if !t.retryableStatus(a.resp) {
			return 0, "", false
		}
		reason = strconv.Itoa(a.resp.StatusCode)
		if d, ok := serverDelay(a.resp.Header, t.clock.Now()); ok {
			wait = d
		} else {
			wait = bo.NextBackOff()
		}
	}
	if t.breaker.State() == CircuitOpen {
		return 0, "", false
	}
	if deadline, ok := ctx.Deadline(); ok && wait >= time.Until(deadline) {
		// Waiting would outlast the request: give the caller the answer
		// now (a 429 with its Retry-After, say) rather than fail later.
		t.logger.Debug("upstream retry skipped: the wait outlasts the deadline", "method", req.Method,
			"host", req.URL.Host, "path", req.URL.Path, "reason", reason, "wait", wait)
		return 0, "", false
	}
	return wait, reason, true
}

// waitLimiter waits for a slot from the client-side limiter. A wait that
// would outlast the request's deadline fails at once.
func (t *transport) waitLimiter(ctx context.Context) error {
	if t.limiter == nil {
		return nil
	}
	now := t.clock.Now()
	r := t.limiter.ReserveN(now, 1)
	if !r.OK() {
		t.inst.refused(ctx, refusedRateLimit)
		return t.errorf("%w: burst is too small for one request", ErrRateLimited)
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	if deadline, ok := ctx.Deadline(); ok && d > time.Until(deadline) {
		r.CancelAt(now)
		t.inst.refused(ctx, refusedRateLimit)
		return t.errorf("%w: the next request slot is %s away, past the request's deadline", ErrRateLimited, d.Round(time.Millisecond))
	}
	if err := t.clock.Sleep(ctx, d); err != nil {
		r.CancelAt(t.clock.Now())
		return t.errorf("waiting for the client-side rate limit: %w", err)
	}
	return nil
}

// releasingBody ends the request's timeouts when the caller closes the
// response body.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

func closeBody(b io.ReadCloser) {
	if b != nil {
		_ = b.Close()
	}
}
