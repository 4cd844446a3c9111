package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	if err := probe(srv.URL+"/readyz", time.Second); err != nil {
		t.Errorf("ready server: %v", err)
	}
	status = http.StatusServiceUnavailable
	if err := probe(srv.URL+"/readyz", time.Second); err == nil {
		t.Error("503 accepted")
	}
	if err := probe("http://127.0.0.1:1/readyz", time.Second); err == nil {
		t.Error("closed port accepted")
	}
}
