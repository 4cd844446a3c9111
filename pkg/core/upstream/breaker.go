package upstream

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrCircuitOpen is returned, wrapped, for a request refused because the
// circuit breaker is open: the upstream failed repeatedly and is given time
// to recover.
var ErrCircuitOpen = errors.New("circuit open")

// CircuitState is the breaker's state.
type CircuitState int

// Circuit states; the values are those of the circuit state gauge.
const (
	// CircuitClosed lets requests through.
	CircuitClosed CircuitState = iota
	// CircuitHalfOpen lets one probe request through.
	CircuitHalfOpen
	// CircuitOpen refuses requests.
	CircuitOpen
)

func (s CircuitState) String() string {
	switch s {
	case CircuitClosed:
		return "closed"
	case CircuitHalfOpen:
		return "half_open"
	case CircuitOpen:
		return "open"
	}
	return fmt.Sprintf("CircuitState(%d)", int(s))
}

// outcome is what one attempt says about the upstream's health.
type outcome int

const (
	// outcomeIgnored says nothing: the caller gave up, or the request
	// never left (for a probe, another probe may go).
	outcomeIgnored outcome = iota
	outcomeSuccess
	outcomeFailure
)

// breaker is a consecutive-failure circuit breaker. A nil *breaker (breaker
// off) lets everything through.
type breaker struct {
	name      string
	threshold int
	openFor   time.Duration
	now       func() time.Time
	// onChange runs outside the lock after every state change.
	onChange func(to CircuitState, failures int)

	mu        sync.Mutex
	state     CircuitState
	failures  int
	openUntil time.Time
	probing   bool
}

func newBreaker(name string, cfg Breaker, now func() time.Time, onChange func(CircuitState, int)) *breaker {
	if cfg.FailureThreshold <= 0 {
		return nil
	}
	return &breaker{name: name, threshold: cfg.FailureThreshold, openFor: cfg.OpenDuration, now: now, onChange: onChange}
}

// allow asks to send one attempt. probe reports whether it is the half-open
// probe; its result must be passed back to record.
func (b *breaker) allow() (probe bool, err error) {
	if b == nil {
		return false, nil
	}
	b.mu.Lock()
	changed := false
	if b.state == CircuitOpen {
		now := b.now()
		if now.Before(b.openUntil) {
			wait := b.openUntil.Sub(now).Round(time.Second)
			b.mu.Unlock()
			return false, fmt.Errorf("upstream %s: %w after %d consecutive failures; retry in %s", b.name, ErrCircuitOpen, b.threshold, wait)
		}
		b.state, changed = CircuitHalfOpen, true
	}
	if b.state == CircuitHalfOpen {
		if b.probing {
			b.mu.Unlock()
			return false, fmt.Errorf("upstream %s: %w while a probe request checks whether it recovered", b.name, ErrCircuitOpen)
		}
		b.probing, probe = true, true
	}
	failures := b.failures
	b.mu.Unlock()
	if changed {
		b.onChange(CircuitHalfOpen, failures)
	}
	return probe, nil
}

// record reports the outcome of an attempt allow let through.
func (b *breaker) record(probe bool, o outcome) {
	if b == nil {
		return
	}
	b.mu.Lock()
	from := b.state
	switch {
	case probe:
		b.probing = false
		switch o {
		case outcomeSuccess:
			b.state, b.failures = CircuitClosed, 0
		case outcomeFailure:
			b.state, b.openUntil = CircuitOpen, b.now().Add(b.openFor)
		}
	case b.state != CircuitClosed:
		// An attempt that started before the circuit opened: the probe
		// alone decides.
	case o == outcomeSuccess:
		b.failures = 0
	case o == outcomeFailure:
		b.failures++
		if b.failures >= b.threshold {
			b.state, b.openUntil = CircuitOpen, b.now().Add(b.openFor)
		}
	}
	to, failures := b.state, b.failures
	b.mu.Unlock()
	if to != from {
		b.onChange(to, failures)
	}
}

// State returns the current state; an open circuit whose time is up reads
// as half-open, as the next request would find it.
func (b *breaker) State() CircuitState {
	if b == nil {
		return CircuitClosed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == CircuitOpen && !b.now().Before(b.openUntil) {
		return CircuitHalfOpen
	}
	return b.state
}
