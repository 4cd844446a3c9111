package upstream

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"
)

func limitedConfig() Config {
	cfg := testConfig()
	cfg.RateLimit = RateLimit{RequestsPerSecond: 1, Burst: 1}
	return cfg
}

func TestLimiterSpacesRequests(t *testing.T) {
	up := newFakeUpstream(t, func(http.ResponseWriter, *http.Request, int64) {})
	clk := newTestClock()
	c := newTestClient(t, limitedConfig(), Deps{Clock: clk})
	for range 3 {
		if s, _, err := get(t, c, up.URL); err != nil || s != http.StatusOK {
			t.Fatalf("got %d, %v", s, err)
		}
	}
	// The burst of one goes at once; each later request waits a second.
	if got, want := clk.Sleeps(), []time.Duration{time.Second, time.Second}; !slices.Equal(got, want) {
		t.Errorf("limiter waits %v, want %v", got, want)
	}
	if n := up.hits.Load(); n != 3 {
		t.Errorf("upstream saw %d requests, want 3", n)
	}
}

func TestLimiterWaitStopsOnCancel(t *testing.T) {
	up := newFakeUpstream(t, func(http.ResponseWriter, *http.Request, int64) {})
	clk := newTestClock()
	c := newTestClient(t, limitedConfig(), Deps{Clock: clk})
	if _, _, err := get(t, c, up.URL); err != nil { // spends the burst
		t.Fatal(err)
	}

	clk.sleeping = make(chan time.Duration)
	// The cancelled request is never sent.
	cancelWhileSleeping(t, c, up, clk.sleeping, time.Second, 1)
}

func TestLimiterFailsFastPastDeadline(t *testing.T) {
	up := newFakeUpstream(t, func(http.ResponseWriter, *http.Request, int64) {})
	cfg := limitedConfig()
	cfg.RateLimit.RequestsPerSecond = 0.001 // one slot every ~17 minutes
	clk := newTestClock()
	c := newTestClient(t, cfg, Deps{Clock: clk})
	if _, _, err := get(t, c, up.URL); err != nil {
		t.Fatal(err)
	}
	_, _, err := get(t, c, up.URL) // the 1m deadline is sooner than the slot
	if !errors.Is(err, ErrRateLimited) {
		t.Errorf("error = %v, want ErrRateLimited", err)
	}
	if len(clk.Sleeps()) != 0 {
		t.Errorf("slept %v; a wait past the deadline must fail at once", clk.Sleeps())
	}
	if n := up.hits.Load(); n != 1 {
		t.Errorf("upstream saw %d requests, want 1", n)
	}
}
