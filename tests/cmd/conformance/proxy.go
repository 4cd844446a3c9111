package main

import (
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// bearerProxy forwards every request to target unchanged except for one
// added header, Authorization: Bearer <token>. The conformance suite cannot
// authenticate, so the proxy does it for it; the fixture still checks every
// request. Host and Origin pass through untouched so that the suite's DNS
// rebinding checks reach the fixture's Host/Origin policy as sent, and
// responses are flushed at once so SSE streams stay live.
type bearerProxy struct {
	srv *http.Server
	ln  net.Listener
}

// listenProxy binds the proxy's loopback port first, so that its URL, the
// one clients see, can become the fixture's public URL (and so the token
// audience) before the fixture starts.
func listenProxy() (*bearerProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &bearerProxy{ln: ln}, nil
}

// URL is the proxy's base URL.
func (p *bearerProxy) URL() string { return "http://" + p.ln.Addr().String() }

// serve forwards to target with token until close.
func (p *bearerProxy) serve(target *url.URL, token string, errLog *log.Logger) {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set("Authorization", "Bearer "+token)
		},
		FlushInterval: -1,
		ErrorLog:      errLog,
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The fixture may start its SSE response before the proxy's
		// transport has finished with the request body (it reads to EOF
		// after the last byte). Without full duplex, net/http closes an
		// HTTP/1.1 request body once the response is flushed, the transport
		// then fails and drops the backend connection mid-stream, and the
		// client waits for a result that never comes.
		_ = http.NewResponseController(w).EnableFullDuplex()
		rp.ServeHTTP(w, r)
	})
	p.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog}
	go func() { _ = p.srv.Serve(p.ln) }()
}

// close stops the proxy and cuts any stream still open.
func (p *bearerProxy) close() {
	if p.srv != nil {
		_ = p.srv.Close()
		return
	}
	_ = p.ln.Close()
}
