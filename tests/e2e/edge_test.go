// Package e2e tests the HTTP edge of a core server (Host and Origin checks,
// body limits, authentication, sessions, protocol headers) through the real
// fixture over real HTTP, with raw requests a client library would never
// send.
package e2e

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn/authntest"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/tests/internal/fixturetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(cleanRun{m}) }

// cleanRun removes what the tests built once the tests have run.
type cleanRun struct{ m *testing.M }

func (c cleanRun) Run() int {
	defer removeBinaries()
	return c.m.Run()
}

const protocolVersion = "2025-11-25"

// rawClient sends hand-made MCP requests.
type rawClient struct {
	t   *testing.T
	st  *fixturetest.Stack
	url string
}

func newRawClient(t *testing.T, st *fixturetest.Stack) *rawClient {
	return &rawClient{t: t, st: st, url: st.URL()}
}

// request builds a POST of body to the MCP endpoint with the usual headers.
func (c *rawClient) request(body string, token, session string) *http.Request {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.url, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", protocolVersion)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
	}
	return req
}

type response struct {
	status int
	header http.Header
	body   string
}

func (c *rawClient) do(req *http.Request) response {
	c.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// initialize opens a session as the holder of token.
func (c *rawClient) initialize(token string) string {
	c.t.Helper()
	r := c.do(c.request(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"`+protocolVersion+
		`","capabilities":{},"clientInfo":{"name":"edge-test","version":"1"}}}`, token, ""))
	session := r.header.Get("Mcp-Session-Id")
	if r.status != http.StatusOK || session == "" {
		c.t.Fatalf("initialize: %d %q %s", r.status, session, r.body)
	}
	if r := c.do(c.request(`{"jsonrpc":"2.0","method":"notifications/initialized"}`, token, session)); r.status != http.StatusAccepted {
		c.t.Fatalf("initialized: %d %s", r.status, r.body)
	}
	return session
}

const whoamiCall = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`

// callWhoami calls the probe tool and returns the subject it reports.
func (c *rawClient) callWhoami(token, session string) string {
	c.t.Helper()
	r := c.do(c.request(whoamiCall, token, session))
	if r.status != http.StatusOK {
		c.t.Fatalf("whoami: %d %s", r.status, r.body)
	}
	var msg struct {
		Result struct {
			StructuredContent struct{ Subject string } `json:"structuredContent"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(jsonRPCBody(r.body)), &msg); err != nil || msg.Result.StructuredContent.Subject == "" {
		c.t.Fatalf("whoami result %q: %v", r.body, err)
	}
	return msg.Result.StructuredContent.Subject
}

// jsonRPCBody returns the JSON-RPC message of a response that may be SSE.
func jsonRPCBody(body string) string {
	for line := range strings.SplitSeq(body, "\n") {
		if data, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(data, `"jsonrpc"`) {
			return data
		}
	}
	return body
}

// challenge parses a WWW-Authenticate Bearer challenge into its parameters.
func challenge(t *testing.T, h string) map[string]string {
	t.Helper()
	rest, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		t.Fatalf("WWW-Authenticate %q is not a Bearer challenge", h)
	}
	params := map[string]string{}
	for part := range strings.SplitSeq(rest, ", ") {
		k, v, _ := strings.Cut(part, "=")
		params[k] = strings.Trim(v, `"`)
	}
	return params
}

// unsigned builds a JWT with the given header and claims and signature.
func unsigned(t *testing.T, header map[string]any, claims jwt.MapClaims, sig []byte) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(header) + "." + enc(claims) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// hs256 signs claims with HMAC-SHA256 under secret, claiming the issuer's kid.
func hs256(t *testing.T, kid string, claims jwt.MapClaims, secret []byte) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBadCredentialsNeverReachTheServer(t *testing.T) {
	st := fixturetest.Start(t, fixturetest.Options{})
	c := newRawClient(t, st)
	good := st.Token("ada")
	session := c.initialize(good)

	key := st.Issuer.SigningKey()
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	stranger, err := authntest.NewRSAKey("key-unknown")
	if err != nil {
		t.Fatal(err)
	}
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := st.Claims("mallory")
		edit(c)
		return c
	}
	now := time.Now()
	parts := strings.Split(good, ".")
	flipped := []byte(parts[2])
	flipped[10] ^= 'A' ^ 'B' // still base64url, no longer the signature
	otherPayload := strings.Split(st.Token("root"), ".")[1]

	for _, tc := range []struct {
		name      string
		header    string // Authorization value; none when empty
		query     string
		wantError string // error parameter of the challenge
	}{
		{name: "missing"},
		{name: "not bearer", header: "Basic " + base64.StdEncoding.EncodeToString([]byte("ada:secret"))},
		{name: "empty bearer", header: "Bearer "},
		{name: "malformed", header: "Bearer not.a.jwt", wantError: "invalid_token"},
		{name: "expired", wantError: "invalid_token", header: "Bearer " + st.Issuer.Token(claims(func(c jwt.MapClaims) {
			c["iat"], c["nbf"], c["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
		}))},
		{name: "not yet valid", wantError: "invalid_token", header: "Bearer " + st.Issuer.Token(claims(func(c jwt.MapClaims) {
			c["nbf"] = now.Add(time.Hour).Unix()
		}))},
		{name: "wrong issuer", wantError: "invalid_token", header: "Bearer " + st.Issuer.Token(claims(func(c jwt.MapClaims) {
			c["iss"] = "https://issuer.invalid"
		}))},
		{name: "wrong audience", wantError: "invalid_token", header: "Bearer " + st.Issuer.Token(claims(func(c jwt.MapClaims) {
			c["aud"] = "http://127.0.0.1:1/mcp"
		}))},
		{name: "no expiry", wantError: "invalid_token", header: "Bearer " + st.Issuer.Token(claims(func(c jwt.MapClaims) {
			delete(c, "exp")
		}))},
		{name: "alg none", wantError: "invalid_token", header: "Bearer " + unsigned(t, map[string]any{"alg": "none", "typ": "JWT", "kid": key.ID}, st.Claims("mallory"), nil)},
		{name: "HS256 with the public key PEM as secret", wantError: "invalid_token", header: "Bearer " + hs256(t, key.ID, st.Claims("mallory"), pemKey)},
		{name: "HS256 with the public key DER as secret", wantError: "invalid_token", header: "Bearer " + hs256(t, key.ID, st.Claims("mallory"), der)},
		{name: "unknown kid", wantError: "invalid_token", header: "Bearer " + authntest.SignWith(stranger, st.Claims("mallory"), nil)},
		{name: "known kid, other key", wantError: "invalid_token", header: "Bearer " + authntest.SignWith(stranger, st.Claims("mallory"), map[string]any{"kid": key.ID})},
		{name: "tampered signature", wantError: "invalid_token", header: "Bearer " + parts[0] + "." + parts[1] + "." + string(flipped)},
		{name: "tampered payload", wantError: "invalid_token", header: "Bearer " + parts[0] + "." + otherPayload + "." + parts[2]},
		{name: "unknown API key", wantError: "invalid_token", header: "Bearer mcpk_not_a_key_we_issued"},
		{name: "token in the query string", query: "access_token=" + good, wantError: "invalid_request"},
		{name: "token in the query string and the header", header: "Bearer " + good, query: "access_token=" + good, wantError: "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := st.Requests("tools/call")
			req := c.request(whoamiCall, "", session)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			req.URL.RawQuery = tc.query
			r := c.do(req)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", r.status, r.body)
			}
			ch := challenge(t, r.header.Get("WWW-Authenticate"))
			if want := st.BaseURL() + "/.well-known/oauth-protected-resource/mcp"; ch["resource_metadata"] != want {
				t.Errorf("resource_metadata %q, want %q", ch["resource_metadata"], want)
			}
			if ch["error"] != tc.wantError {
				t.Errorf("error %q, want %q (challenge %v)", ch["error"], tc.wantError, ch)
			}
			if strings.Contains(r.body, good) || (tc.header != "" && len(tc.header) > 20 && strings.Contains(r.body, tc.header[7:])) {
				t.Errorf("the response echoes the credential: %s", r.body)
			}
			if n := st.Requests("tools/call"); n != before {
				t.Errorf("the call reached the server (%d tools/call before, %d after)", before, n)
			}
			// The server keeps serving the rightful holder.
			if who := c.callWhoami(good, session); who != "ada" {
				t.Errorf("after the refusal whoami = %q", who)
			}
		})
	}
}

func TestHTTPEdgeRefusalsLeaveTheServerServing(t *testing.T) {
	const maxBody = 64 << 10
	st := fixturetest.Start(t, fixturetest.Options{Config: func(c *config.Config) { c.HTTP.MaxBodyBytes = maxBody }})
	c := newRawClient(t, st)
	good := st.Token("ada")
	session := c.initialize(good)
	big := `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"whoami","arguments":{"pad":"` + strings.Repeat("x", maxBody) + `"}}}`

	for _, tc := range []struct {
		name   string
		edit   func(*http.Request)
		body   string
		status int
		check  func(t *testing.T, r response)
	}{
		{name: "cross-site origin", status: http.StatusForbidden, edit: func(r *http.Request) { r.Header.Set("Origin", "https://evil.example.com") }},
		{name: "origin of another loopback port", status: http.StatusForbidden, edit: func(r *http.Request) { r.Header.Set("Origin", "http://127.0.0.1:1") }},
		{name: "DNS rebinding host", status: http.StatusForbidden, edit: func(r *http.Request) { r.Host = "evil.example.com" }},
		{name: "oversized body", status: http.StatusRequestEntityTooLarge, body: big},
		{name: "oversized chunked body", status: http.StatusRequestEntityTooLarge, body: big, edit: func(r *http.Request) {
			r.ContentLength = -1 // sent chunked: the limit must hold while reading
			r.Body = io.NopCloser(strings.NewReader(big))
		}},
		// The transport spec asks for an HTTP error status; a JSON-RPC error
		// body is optional, and go-sdk answers in plain text. If the body
		// is JSON-RPC, it must be a parse error.
		{name: "malformed JSON", status: http.StatusBadRequest, body: `{"jsonrpc":"2.0","id":3,"method":"tools/call",`, check: func(t *testing.T, r response) {
			var msg struct {
				Error *struct{ Code int } `json:"error"`
			}
			if json.Unmarshal([]byte(r.body), &msg) == nil && (msg.Error == nil || msg.Error.Code != -32700) {
				t.Errorf("JSON body is not a JSON-RPC parse error (-32700): %s", r.body)
			}
			if !strings.Contains(r.body, "malformed") && !strings.Contains(r.body, "-32700") {
				t.Errorf("the answer does not say the JSON is malformed: %s", r.body)
			}
		}},
		{name: "bad protocol version header", status: http.StatusBadRequest, edit: func(r *http.Request) { r.Header.Set("Mcp-Protocol-Version", "1999-01-01") }},
		{name: "unknown session", status: http.StatusNotFound, edit: func(r *http.Request) { r.Header.Set("Mcp-Session-Id", "NOSUCHSESSIONAAAAAAAAAAAAAAAA") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := st.Requests("tools/call")
			body := whoamiCall
			if tc.body != "" {
				body = tc.body
			}
			req := c.request(body, good, session)
			if tc.edit != nil {
				tc.edit(req)
			}
			r := c.do(req)
			if tc.status != 0 && r.status != tc.status {
				t.Errorf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
			if n := st.Requests("tools/call"); n != before {
				t.Errorf("the call reached the server")
			}
			if who := c.callWhoami(good, session); who != "ada" {
				t.Errorf("after the refusal whoami = %q", who)
			}
		})
	}
}

func TestLoopbackOriginOfTheServerItselfIsAllowed(t *testing.T) {
	st := fixturetest.Start(t, fixturetest.Options{})
	c := newRawClient(t, st)
	good := st.Token("ada")
	session := c.initialize(good)
	req := c.request(whoamiCall, good, session)
	req.Header.Set("Origin", st.BaseURL())
	if r := c.do(req); r.status != http.StatusOK {
		t.Errorf("same-origin request: %d %s", r.status, r.body)
	}
}

func TestSessionOfAnotherPrincipalIsRefused(t *testing.T) {
	st := fixturetest.Start(t, fixturetest.Options{})
	c := newRawClient(t, st)
	ada := st.Token("ada")
	session := c.initialize(ada)
	before := st.Requests("tools/call")

	for name, token := range map[string]string{
		"another user": st.Token("bob"),
		"an API key":   fixturetest.APIKey,
		"ada through another client": st.Issuer.Token(func() jwt.MapClaims {
			cl := st.Claims("ada")
			cl["azp"] = "another-client"
			return cl
		}()),
	} {
		r := c.do(c.request(whoamiCall, token, session))
		switch {
		case name == "ada through another client":
			// The principal is the same user of the same issuer: the session
			// is theirs, whichever client they use.
			if r.status != http.StatusOK {
				t.Errorf("%s: %d %s", name, r.status, r.body)
			}
		case r.status != http.StatusForbidden && r.status != http.StatusNotFound:
			t.Errorf("%s used ada's session: %d %s", name, r.status, r.body)
		}
	}
	if n := st.Requests("tools/call") - before; n != 1 {
		t.Errorf("%d calls reached the server, want only ada's own", n)
	}
	if who := c.callWhoami(ada, session); who != "ada" {
		t.Errorf("whoami = %q", who)
	}
}

func TestInsufficientScope(t *testing.T) {
	st := fixturetest.Start(t, fixturetest.Options{Config: func(c *config.Config) {
		c.Auth.RequiredScopes = []string{"mcp", "fixture:call"}
	}})
	c := newRawClient(t, st)
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + protocolVersion + `","capabilities":{},"clientInfo":{"name":"edge-test","version":"1"}}}`

	r := c.do(c.request(init, st.Token("ada"), "")) // scope "mcp" only
	if r.status != http.StatusForbidden {
		t.Fatalf("status %d, want 403: %s", r.status, r.body)
	}
	ch := challenge(t, r.header.Get("WWW-Authenticate"))
	if ch["error"] != "insufficient_scope" || ch["scope"] != "mcp fixture:call" || ch["resource_metadata"] == "" {
		t.Errorf("challenge %v", ch)
	}
	if n := st.Requests("initialize"); n != 0 {
		t.Errorf("%d initialize requests reached the server", n)
	}
	// The API key holds only "mcp" too.
	if r := c.do(c.request(init, fixturetest.APIKey, "")); r.status != http.StatusForbidden {
		t.Errorf("API key without the scope: %d", r.status)
	}
	cl := st.Claims("ada")
	cl["scope"] = "mcp fixture:call"
	if r := c.do(c.request(init, st.Issuer.Token(cl), "")); r.status != http.StatusOK {
		t.Errorf("token with every scope: %d %s", r.status, r.body)
	}
}

func TestProtectedResourceMetadata(t *testing.T) {
	st := fixturetest.Start(t, fixturetest.Options{Config: func(c *config.Config) {
		c.Auth.ScopesSupported = []string{"mcp"}
	}})
	for _, path := range []string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"} {
		resp, err := http.Get(st.BaseURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		var meta struct {
			Resource               string   `json:"resource"`
			AuthorizationServers   []string `json:"authorization_servers"`
			ScopesSupported        []string `json:"scopes_supported"`
			BearerMethodsSupported []string `json:"bearer_methods_supported"`
		}
		err = json.NewDecoder(resp.Body).Decode(&meta)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, err)
		}
		if meta.Resource != st.URL() || len(meta.AuthorizationServers) != 1 || meta.AuthorizationServers[0] != st.Issuer.URL() ||
			fmt.Sprint(meta.ScopesSupported) != "[mcp]" || fmt.Sprint(meta.BearerMethodsSupported) != "[header]" {
			t.Errorf("%s: %+v (want resource %s, issuer %s)", path, meta, st.URL(), st.Issuer.URL())
		}
	}
}

// Stateless mode has no sessions, but the edge is the same.
func TestStatelessModeAuthenticatesEveryRequest(t *testing.T) {
	st := fixturetest.Start(t, fixturetest.Options{Stateless: true})
	c := newRawClient(t, st)
	if r := c.do(c.request(whoamiCall, "", "")); r.status != http.StatusUnauthorized {
		t.Errorf("without a token: %d", r.status)
	}
	if who := c.callWhoami(st.Token("ada"), ""); who != "ada" {
		t.Errorf("whoami = %q", who)
	}
	if who := c.callWhoami(fixturetest.APIKey, ""); who != fixturetest.APIKeyID {
		t.Errorf("whoami with the API key = %q", who)
	}
	if n := st.Requests("tools/call"); n != 2 {
		t.Errorf("%d tool calls reached the server, want 2", n)
	}
}
