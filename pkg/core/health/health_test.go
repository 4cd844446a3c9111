package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestReadiness(t *testing.T) {
	db := errors.New("connection refused")
	r := NewRegistry("1.2.3",
		Check{Name: "policy", Func: func(context.Context) (any, error) { return map[string]string{"hash": "abc"}, nil }},
		Check{Name: "db", Func: func(context.Context) (any, error) { return nil, db }},
		Check{Name: "slow", Timeout: 10 * time.Millisecond, Func: func(ctx context.Context) (any, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}},
		Check{Name: "panics", Func: func(context.Context) (any, error) { panic("bug") }},
	)
	rec := httptest.NewRecorder()
	r.ReadinessHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status = %d", rec.Code)
	}
	var rep Report
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Status != StatusUnavailable || rep.Version != "1.2.3" || len(rep.Checks) != 4 {
		t.Errorf("report = %+v", rep)
	}
	if c := rep.Checks["db"]; c.Status != StatusUnavailable || c.Error != "connection refused" {
		t.Errorf("db = %+v", c)
	}
	if c := rep.Checks["slow"]; c.Status != StatusUnavailable {
		t.Errorf("slow = %+v", c)
	}
	if c := rep.Checks["panics"]; c.Error != "check panicked" {
		t.Errorf("panics = %+v", c)
	}
	if c := rep.Checks["policy"]; c.Status != StatusOK || c.Detail == nil {
		t.Errorf("policy = %+v", c)
	}
}

func TestDraining(t *testing.T) {
	r := NewRegistry("v")
	if rep := r.Ready(context.Background()); rep.Status != StatusOK {
		t.Fatalf("empty registry not ready: %+v", rep)
	}
	r.SetDraining()
	rec := httptest.NewRecorder()
	r.ReadinessHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("draining readiness = %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	r.LivenessHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("liveness while draining = %d", rec.Code)
	}
}
