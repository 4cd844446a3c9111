package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/url"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn/authntest"
	"github.com/mcpfleet/mcpfleet/tests/conformance/fixture"
)

// subject is who the suite's token says it is.
const subject = "conformance-suite"

// stack is the fixture with authentication on, behind the bearer proxy.
type stack struct {
	fixture *fixture.Server
	proxy   *bearerProxy
	// url is the MCP endpoint through the proxy: what clients use, the
	// fixture's public URL and so the token audience.
	url string
}

// startStack binds the proxy, starts the fixture with the proxy's URL as
// its public URL (so the token audience is the URL clients use) and then
// starts forwarding with a token the issuer signed for that audience.
func startStack(ctx context.Context, issuer *authntest.Issuer, stateless bool, logs io.Writer) (*stack, error) {
	proxy, err := listenProxy()
	if err != nil {
		return nil, err
	}
	yaml := fmt.Sprintf(`
transport: http
http:
  addr: 127.0.0.1:0
  public_url: %s
  stateless: %t
auth:
  oidc:
    issuer: %s
log:
  level: warn
`, proxy.URL(), stateless, issuer.URL())
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	srv, err := fixture.StartHTTP(startCtx, []byte(yaml), logs)
	if err != nil {
		proxy.close()
		return nil, fmt.Errorf("starting the fixture: %w", err)
	}
	st := &stack{fixture: srv, proxy: proxy, url: proxy.URL() + "/mcp"}
	target, err := url.Parse("http://" + srv.Addr())
	if err != nil {
		st.close()
		return nil, err
	}
	token := issuer.Token(issuer.Claims(subject, st.url))
	proxy.serve(target, token, log.New(logs, "proxy: ", log.LstdFlags))
	return st, nil
}

// close stops the proxy, then drains and stops the fixture.
func (s *stack) close() {
	s.proxy.close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = s.fixture.Stop(ctx)
}
