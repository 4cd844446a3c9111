// Package httpserver serves the MCP endpoint over HTTP with the checks the
// MCP spec asks of an HTTP server in front of it: Host and Origin validation
// (DNS rebinding, cross-site requests), a request body limit, and
// authentication; plus health, metadata and extra routes beside it.
package httpserver

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// HostPolicy decides which Host headers the MCP endpoint accepts.
type HostPolicy struct {
	any   bool
	hosts []string // lower-case; entries without a port match any port
}

// NewHostPolicy builds the policy. "*" accepts any host. With no entries
// and a loopback listener, only loopback names are accepted.
func NewHostPolicy(allowed []string, loopbackListener bool, publicURL string) HostPolicy {
	var hp HostPolicy
	for _, h := range allowed {
		if h == "*" {
			return HostPolicy{any: true}
		}
		hp.hosts = append(hp.hosts, strings.ToLower(strings.TrimSpace(h)))
	}
	if len(hp.hosts) == 0 {
		if loopbackListener {
			hp.hosts = []string{"localhost", "127.0.0.1", "::1", "[::1]"}
		}
		if u, err := url.Parse(publicURL); err == nil && u.Host != "" {
			hp.hosts = append(hp.hosts, strings.ToLower(u.Host))
		}
	}
	return hp
}

// Allows reports whether host (a Host header value) is acceptable.
func (hp HostPolicy) Allows(host string) bool {
	if hp.any {
		return true
	}
	host = strings.ToLower(host)
	if host == "" {
		return false
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	for _, a := range hp.hosts {
		if a == host || a == name || "["+name+"]" == a {
			return true
		}
	}
	return false
}

// OriginPolicy decides which browser origins may call the MCP endpoint.
type OriginPolicy struct {
	allowed []string // normalised scheme://host[:port]
}

// NewOriginPolicy builds the policy from configured origins.
func NewOriginPolicy(allowed []string) OriginPolicy {
	var op OriginPolicy
	for _, o := range allowed {
		op.allowed = append(op.allowed, strings.ToLower(strings.TrimSuffix(o, "/")))
	}
	return op
}

// Allows reports whether a request carrying Origin origin to Host host is
// acceptable: requests without an Origin (non-browser clients) pass, as do
// same-origin requests and configured origins.
func (op OriginPolicy) Allows(origin, host string) bool {
	if origin == "" {
		return true
	}
	o := strings.ToLower(origin)
	if slices.Contains(op.allowed, o) {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

// listed reports whether origin is explicitly configured (and so gets CORS
// headers).
func (op OriginPolicy) listed(origin string) bool {
	return slices.Contains(op.allowed, strings.ToLower(origin))
}

// Guard wraps the MCP handler with the Host, Origin and body-size checks.
// Each refusal is answered before the body is read and changes nothing.
func Guard(hosts HostPolicy, origins OriginPolicy, maxBody int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hosts.Allows(r.Host) {
			writeError(w, http.StatusForbidden, "host "+strconv.Quote(r.Host)+" is not allowed")
			return
		}
		origin := r.Header.Get("Origin")
		if !origins.Allows(origin, r.Host) {
			writeError(w, http.StatusForbidden, "origin "+strconv.Quote(origin)+" is not allowed")
			return
		}
		if origin != "" && origins.listed(origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "Mcp-Session-Id, WWW-Authenticate")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		if r.ContentLength > maxBody {
			writeError(w, http.StatusRequestEntityTooLarge, "request body of "+strconv.FormatInt(r.ContentLength, 10)+" bytes exceeds the limit of "+strconv.FormatInt(maxBody, 10))
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		next.ServeHTTP(w, r)
	})
}

// writeError answers with a JSON-RPC error object (id null), which is what an
// MCP client expects to parse from the endpoint.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"jsonrpc": "2.0",
		"id":      nil,
		"error":   map[string]any{"code": -32600, "message": msg},
	})
}
