package httpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Route is an extra HTTP route served outside authentication.
type Route struct {
	Pattern string
	Handler http.Handler
}

// Server is an HTTP listener with a lifecycle fx can drive.
type Server struct {
	addr     string
	certFile string
	keyFile  string
	srv      *http.Server
	logger   *slog.Logger
	bound    net.Listener

	mu       sync.Mutex
	ln       net.Listener
	serveErr chan error
}

// Options configure a Server.
type Options struct {
	Addr string
	// Listener, when set, is already bound (to Addr) and is served instead
	// of binding at Start.
	Listener          net.Listener
	CertFile, KeyFile string
	ReadHeaderTimeout time.Duration
	Handler           http.Handler
	Logger            *slog.Logger
}

// New returns an unstarted Server.
func New(o Options) *Server {
	return &Server{
		addr: o.Addr, certFile: o.CertFile, keyFile: o.KeyFile, logger: o.Logger, bound: o.Listener,
		srv: &http.Server{
			Handler:           o.Handler,
			ReadHeaderTimeout: o.ReadHeaderTimeout,
			// Streams (SSE) are long-lived: no write timeout; idle
			// keep-alive connections are reaped.
			IdleTimeout: 2 * time.Minute,
			ErrorLog:    slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
		},
	}
}

// Start listens and serves in the background. It returns once the listener
// is bound, so Addr is valid and a failed bind is reported to the caller.
func (s *Server) Start(context.Context) error {
	ln := s.bound
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.addr); err != nil {
			return fmt.Errorf("listen on %s: %w", s.addr, err)
		}
	}
	if s.certFile != "" {
		cert, err := tls.LoadX509KeyPair(s.certFile, s.keyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("loading TLS certificate: %w", err)
		}
		s.srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		ln = tls.NewListener(ln, s.srv.TLSConfig)
	}
	s.mu.Lock()
	s.ln = ln
	s.serveErr = make(chan error, 1)
	s.mu.Unlock()
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.serveErr <- err
	}()
	s.logger.Info("listening", "addr", ln.Addr().String(), "tls", s.certFile != "")
	return nil
}

// Addr returns the bound address, or the configured one before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.addr
}

// Shutdown stops accepting connections and waits for active requests until
// ctx ends, then closes whatever is left. Safe to call without Start.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	started := s.ln != nil
	s.mu.Unlock()
	if !started {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		// Deadline passed with requests still running: cut them off.
		_ = s.srv.Close()
	}
	if serr := <-s.serveErr; serr != nil && err == nil {
		err = serr
	}
	return err
}
