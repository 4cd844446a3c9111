// Package health serves liveness (/healthz) and readiness (/readyz).
//
// Liveness says the process is up and serving HTTP. Readiness aggregates the
// checks that modules contribute (upstream reachable, database ping, signing
// keys loaded) and turns false while the server drains on shutdown, so a load
// balancer stops sending new work before in-flight calls finish.
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Check is one readiness check. Func returns an optional detail shown in the
// report (a policy hash, remaining quota) and an error when not ready.
type Check struct {
	Name string
	Func func(ctx context.Context) (detail any, err error)
	// Timeout bounds one run; DefaultTimeout when zero.
	Timeout time.Duration
}

// DefaultTimeout bounds a check that sets no timeout of its own.
const DefaultTimeout = 2 * time.Second

// Registry runs the checks.
type Registry struct {
	checks   []Check
	draining atomic.Bool
	version  string
}

// NewRegistry returns a Registry over checks, sorted by name so reports are
// stable whatever order they were contributed in.
func NewRegistry(version string, checks ...Check) *Registry {
	cs := append([]Check(nil), checks...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return &Registry{checks: cs, version: version}
}

// SetDraining marks the server as shutting down: readiness fails from now on.
func (r *Registry) SetDraining() { r.draining.Store(true) }

// Result is one check's outcome.
type Result struct {
	Status     string  `json:"status"`
	Error      string  `json:"error,omitempty"`
	Detail     any     `json:"detail,omitempty"`
	DurationMS float64 `json:"duration_ms"`
}

// Report is the /readyz body.
type Report struct {
	Status  string            `json:"status"`
	Version string            `json:"version,omitempty"`
	Checks  map[string]Result `json:"checks"`
}

// Status values.
const (
	StatusOK          = "ok"
	StatusUnavailable = "unavailable"
	StatusDraining    = "draining"
)

// Ready runs every check concurrently and reports.
func (r *Registry) Ready(ctx context.Context) Report {
	rep := Report{Status: StatusOK, Version: r.version, Checks: make(map[string]Result, len(r.checks))}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range r.checks {
		wg.Go(func() {
			res := run(ctx, c)
			mu.Lock()
			defer mu.Unlock()
			rep.Checks[c.Name] = res
			if res.Status != StatusOK {
				rep.Status = StatusUnavailable
			}
		})
	}
	wg.Wait()
	if r.draining.Load() {
		rep.Status = StatusDraining
	}
	return rep
}

func run(ctx context.Context, c Check) (res Result) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			res = Result{Status: StatusUnavailable, Error: "check panicked"}
		}
		res.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	}()
	detail, err := c.Func(ctx)
	if err != nil {
		return Result{Status: StatusUnavailable, Error: err.Error(), Detail: detail}
	}
	return Result{Status: StatusOK, Detail: detail}
}

// LivenessHandler serves /healthz.
func (r *Registry) LivenessHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": StatusOK, "version": r.version})
	})
}

// ReadinessHandler serves /readyz: 200 when every check passes, else 503.
func (r *Registry) ReadinessHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rep := r.Ready(req.Context())
		status := http.StatusOK
		if rep.Status != StatusOK {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, rep)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
