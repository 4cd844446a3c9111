package httpserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHostPolicy(t *testing.T) {
	loop := NewHostPolicy(nil, true, "")
	for host, want := range map[string]bool{
		"localhost:8080": true, "127.0.0.1:1": true, "[::1]:80": true, "127.0.0.1": true,
		"evil.example.com": false, "evil.example.com:8080": false, "": false, "127.0.0.1.evil.com": false,
	} {
		if got := loop.Allows(host); got != want {
			t.Errorf("loopback policy Allows(%q) = %v", host, got)
		}
	}
	public := NewHostPolicy(nil, false, "https://mcp.example.com")
	if !public.Allows("mcp.example.com") || public.Allows("localhost:8080") {
		t.Error("public URL host policy wrong")
	}
	listed := NewHostPolicy([]string{"api.example.com:443", "internal"}, true, "")
	if !listed.Allows("api.example.com:443") || listed.Allows("api.example.com:80") || !listed.Allows("internal:9000") || listed.Allows("localhost") {
		t.Error("explicit host list wrong")
	}
	if !NewHostPolicy([]string{"*"}, false, "").Allows("anything:1") {
		t.Error("wildcard refused")
	}
}

func TestOriginPolicy(t *testing.T) {
	op := NewOriginPolicy([]string{"https://app.example.com"})
	for _, tc := range []struct {
		origin, host string
		want         bool
	}{
		{"", "localhost:8080", true},
		{"http://localhost:8080", "localhost:8080", true},
		{"https://app.example.com", "mcp.example.com", true},
		{"https://APP.example.com", "mcp.example.com", true},
		{"http://evil.example.com", "localhost:8080", false},
		{"http://localhost:9999", "localhost:8080", false},
		{"null", "localhost:8080", false},
	} {
		if got := op.Allows(tc.origin, tc.host); got != tc.want {
			t.Errorf("Allows(%q, %q) = %v", tc.origin, tc.host, got)
		}
	}
}

func TestGuard(t *testing.T) {
	reached := 0
	h := Guard(NewHostPolicy(nil, true, ""), NewOriginPolicy([]string{"https://app.example.com"}), 100,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reached++
			buf := make([]byte, 200)
			n, err := r.Body.Read(buf)
			if err != nil && n > 100 {
				t.Error("body limit not enforced while reading")
			}
			w.WriteHeader(http.StatusOK)
		}))
	for _, tc := range []struct {
		name, host, origin, method string
		body                       string
		status                     int
		cors                       bool
	}{
		{"ok", "localhost:1", "", "POST", "{}", 200, false},
		{"bad host", "evil.example.com", "", "POST", "{}", 403, false},
		{"cross-site origin", "localhost:1", "http://evil.example.com", "POST", "{}", 403, false},
		{"too large", "localhost:1", "", "POST", strings.Repeat("x", 101), 413, false},
		{"listed origin", "localhost:1", "https://app.example.com", "POST", "{}", 200, true},
		{"preflight", "localhost:1", "https://app.example.com", "OPTIONS", "", 204, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/mcp", strings.NewReader(tc.body))
			req.Host = tc.host
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Errorf("status = %d, want %d", rec.Code, tc.status)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin") != ""; got != tc.cors {
				t.Errorf("CORS header present = %v", got)
			}
			if rec.Code >= 400 {
				var body struct {
					Error struct{ Message string } `json:"error"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Message == "" {
					t.Errorf("refusal body is not a JSON-RPC error: %s", rec.Body)
				}
			}
		})
	}
	if reached != 2 {
		t.Errorf("handler reached %d times, want 2", reached)
	}
}
