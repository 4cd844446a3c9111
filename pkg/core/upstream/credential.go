package upstream

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
)

// ErrInboundCredential is returned, wrapped, for a request that would carry
// the MCP client's own credential to the upstream. The MCP spec forbids
// token passthrough: an upstream must be called with the server's own
// upstream credential, never with the token the client authenticated with.
var ErrInboundCredential = errors.New("refusing to send the MCP client's own credential upstream")

// inboundOnlyHeaders belong to the MCP connection between the client and
// this server. A tool that copies inbound headers onto an upstream request
// would otherwise hand the session id (a handle on the client's session) to
// a third party.
var inboundOnlyHeaders = []string{"Mcp-Session-Id", "Mcp-Protocol-Version", "Last-Event-Id"}

// carriesInboundCredential reports whether req carries the credential the
// principal in its context authenticated with: in any header (with or
// without an auth scheme such as "Bearer" or "token", or inside Basic
// credentials), in the URL's user info or in a query parameter. Request
// bodies are not inspected.
func carriesInboundCredential(req *http.Request) bool {
	p := authn.FromContext(req.Context())
	if p == nil {
		return false
	}
	for _, values := range req.Header {
		for _, v := range values {
			if headerHoldsCredential(p, v) {
				return true
			}
		}
	}
	if u := req.URL; u != nil {
		if u.User != nil {
			pw, _ := u.User.Password()
			if p.IsCredential(u.User.Username()) || p.IsCredential(pw) {
				return true
			}
		}
		if u.RawQuery != "" {
			for _, values := range u.Query() {
				for _, v := range values {
					if p.IsCredential(v) {
						return true
					}
				}
			}
		}
	}
	return false
}

func headerHoldsCredential(p *authn.Principal, v string) bool {
	v = strings.TrimSpace(v)
	if p.IsCredential(v) {
		return true
	}
	scheme, rest, ok := strings.Cut(v, " ")
	if !ok {
		return false
	}
	rest = strings.TrimSpace(rest)
	if p.IsCredential(rest) {
		return true
	}
	if strings.EqualFold(scheme, "Basic") {
		if raw, err := base64.StdEncoding.DecodeString(rest); err == nil {
			user, pass, _ := strings.Cut(string(raw), ":")
			return p.IsCredential(user) || p.IsCredential(pass)
		}
	}
	return false
}

// stripInboundHeaders removes inboundOnlyHeaders from h, which must be the
// attempt's own copy.
func stripInboundHeaders(h http.Header) {
	for _, name := range inboundOnlyHeaders {
		delete(h, name)
	}
}
