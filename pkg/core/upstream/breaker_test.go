package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func breakerConfig() Config {
	cfg := testConfig()
	cfg.Retry.MaxRetries = 0
	cfg.Breaker = Breaker{FailureThreshold: 3, OpenDuration: 30 * time.Second}
	return cfg
}

func TestBreakerOpensAndHalfOpens(t *testing.T) {
	var status atomic.Int64
	status.Store(http.StatusInternalServerError)
	// While gate is set, requests wait on it: the probe stays in flight.
	var gate atomic.Pointer[chan struct{}]
	entered := make(chan struct{}, 1)
	up := newFakeUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int64) {
		if g := gate.Load(); g != nil {
			entered <- struct{}{}
			<-*g
		}
		w.WriteHeader(int(status.Load()))
	})
	clk := newTestClock()
	c := newTestClient(t, breakerConfig(), Deps{Clock: clk})

	for i := range 3 {
		if s, _, err := get(t, c, up.URL); err != nil || s != http.StatusInternalServerError {
			t.Fatalf("request %d: %d, %v", i, s, err)
		}
	}
	if c.Circuit() != CircuitOpen {
		t.Fatalf("circuit %s after 3 failures, want open", c.Circuit())
	}
	_, _, err := get(t, c, up.URL)
	if !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("error = %v, want ErrCircuitOpen", err)
	}
	if n := up.hits.Load(); n != 3 {
		t.Errorf("upstream saw %d requests, want 3 (an open circuit sends nothing)", n)
	}

	clk.Advance(30 * time.Second)
	if c.Circuit() != CircuitHalfOpen {
		t.Fatalf("circuit %s after the open period, want half_open", c.Circuit())
	}
	// One probe goes through; a second request meanwhile is refused.
	status.Store(http.StatusOK)
	release := make(chan struct{})
	gate.Store(&release)
	probe := make(chan error, 1)
	probeReq := newRequest(t, context.Background(), http.MethodGet, up.URL, "")
	go func() {
		s, _, err := do(t, c, probeReq)
		if err == nil && s != http.StatusOK {
			err = errors.New(http.StatusText(s))
		}
		probe <- err
	}()
	select {
	case <-entered:
	case err := <-probe:
		t.Fatalf("probe ended before reaching the upstream: %v", err)
	}
	if _, _, err := get(t, c, up.URL); !errors.Is(err, ErrCircuitOpen) {
		t.Errorf("request during the probe: %v, want ErrCircuitOpen", err)
	}
	gate.Store(nil)
	close(release)
	if err := <-probe; err != nil {
		t.Fatalf("probe: %v", err)
	}
	if c.Circuit() != CircuitClosed {
		t.Fatalf("circuit %s after a good probe, want closed", c.Circuit())
	}
	if s, _, err := get(t, c, up.URL); err != nil || s != http.StatusOK {
		t.Errorf("after closing: %d, %v", s, err)
	}
}

func TestBreakerFailedProbeReopens(t *testing.T) {
	up := newFakeUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int64) {
		w.WriteHeader(http.StatusBadGateway)
	})
	clk := newTestClock()
	c := newTestClient(t, breakerConfig(), Deps{Clock: clk})
	for range 3 {
		_, _, _ = get(t, c, up.URL)
	}
	clk.Advance(30 * time.Second)
	if s, _, err := get(t, c, up.URL); err != nil || s != http.StatusBadGateway {
		t.Fatalf("probe: %d, %v; want the 502", s, err)
	}
	if c.Circuit() != CircuitOpen {
		t.Fatalf("circuit %s after a failed probe, want open", c.Circuit())
	}
	if _, _, err := get(t, c, up.URL); !errors.Is(err, ErrCircuitOpen) {
		t.Errorf("error = %v, want ErrCircuitOpen", err)
	}
	if n := up.hits.Load(); n != 4 {
		t.Errorf("upstream saw %d requests, want 4", n)
	}
}

func TestBreakerIgnoresClientErrors(t *testing.T) {
	var status atomic.Int64
	up := newFakeUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int64) {
		w.WriteHeader(int(status.Load()))
	})
	c := newTestClient(t, breakerConfig(), Deps{Clock: newTestClock()})
	// Two failures, a success in between resets the count, 4xx never counts.
	for _, s := range []int{500, 500, 200, 500, 500, 404, 429, 422, 404} {
		status.Store(int64(s))
		if _, _, err := get(t, c, up.URL); err != nil {
			t.Fatalf("status %d: %v", s, err)
		}
	}
	if c.Circuit() != CircuitClosed {
		t.Errorf("circuit %s, want closed: 4xx and interrupted runs of 5xx must not open it", c.Circuit())
	}
}

func TestOpenCircuitStopsRetries(t *testing.T) {
	up := newFakeUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int64) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "down")
	})
	cfg := breakerConfig()
	cfg.Retry.MaxRetries = 5
	cfg.Breaker.FailureThreshold = 2
	c := newTestClient(t, cfg, Deps{Clock: newTestClock()})
	s, body, err := get(t, c, up.URL)
	// The response that opened the circuit is returned, not an error.
	if err != nil || s != http.StatusServiceUnavailable || body != "down" {
		t.Errorf("got %d %q %v, want the 503", s, body, err)
	}
	if n := up.hits.Load(); n != 2 {
		t.Errorf("upstream saw %d requests, want 2", n)
	}
}

func TestBreakerIgnoresCallerCancellation(t *testing.T) {
	entered := make(chan struct{}, 1)
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int64) {
		entered <- struct{}{}
		<-r.Context().Done()
	})
	c := newTestClient(t, breakerConfig(), Deps{Clock: newTestClock()})
	for range 5 {
		ctx, cancel := context.WithCancel(context.Background())
		req := newRequest(t, ctx, http.MethodGet, up.URL, "")
		done := make(chan error, 1)
		go func() {
			_, _, err := do(t, c, req)
			done <- err
		}()
		select {
		case <-entered:
		case err := <-done:
			t.Fatalf("request ended before reaching the upstream: %v", err)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want context.Canceled", err)
		}
	}
	if c.Circuit() != CircuitClosed {
		t.Errorf("circuit %s after cancelled requests, want closed", c.Circuit())
	}
}
