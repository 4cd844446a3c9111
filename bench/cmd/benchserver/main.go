// Command benchserver serves the trivial echo tool for load measurements,
// either on bare go-sdk (the baseline) or on our core with the production
// chain in front of it. It prints one JSON line on stdout with the endpoint
// and a bearer token, then serves until SIGTERM.
//
//	benchserver -mode bare|mcpgo|core|chain -addr 127.0.0.1:0 [-stateless] [-json]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // served only with -pprof
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/bench/echo"
	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn/authntest"
)

func main() {
	mode := flag.String("mode", "bare", "bare (go-sdk only), mcpgo (mark3labs/mcp-go), core (our core, auth off) or chain (auth, tracing, metrics, policy, audit)")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	stateless := flag.Bool("stateless", false, "stateless Streamable HTTP")
	jsonResp := flag.Bool("json", false, "answer with application/json instead of SSE")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address (for profiling under load)")
	parts := flag.String("chain-modules", "observability,policy", "chain mode: the modules on top of auth (comma-separated: observability, policy; empty for auth alone), to see what each costs")
	flag.Parse()
	if *pprofAddr != "" {
		go func() { _ = http.ListenAndServe(*pprofAddr, nil) }()
	}
	var err error
	switch *mode {
	case "bare":
		err = serveBare(*addr, *stateless, *jsonResp)
	case "mcpgo":
		err = serveMCPGo(*addr, *stateless)
	case "core", "chain":
		err = serveCore(*mode, *addr, *stateless, *jsonResp, *parts)
	default:
		err = fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchserver:", err)
		os.Exit(1)
	}
}

// ready is what the driver reads from stdout.
type ready struct {
	URL   string `json:"url"`
	Token string `json:"token,omitempty"`
}

func announce(r ready) {
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}

func serveBare(addr string, stateless, jsonResp bool) error {
	s := mcp.NewServer(&mcp.Implementation{Name: "bare", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "echo", Description: "Echoes the message back."},
		func(_ context.Context, _ *mcp.CallToolRequest, in echo.Input) (*mcp.CallToolResult, echo.Output, error) {
			return nil, echo.Output(in), nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{Stateless: stateless, JSONResponse: jsonResp})
	return serveLibrary(addr, h)
}

// serveLibrary serves a library's MCP handler at /mcp, with /healthz, until
// SIGTERM.
func serveLibrary(addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", h)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	srv := &http.Server{Handler: mux}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		_ = srv.Close()
	}()
	announce(ready{URL: "http://" + ln.Addr().String() + "/mcp"})
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func serveCore(mode, addr string, stateless, jsonResp bool, parts string) error {
	// The token issuer listens first: started after the probe below, it
	// could be given the port the probe has just let go.
	var iss *authntest.Issuer
	if mode == "chain" {
		key, err := authntest.NewECKey("bench")
		if err != nil {
			return err
		}
		if iss, err = authntest.StartWithKey(key); err != nil {
			return err
		}
		defer iss.Close()
	}
	// Bind first so the URL is known before the server starts; the core
	// listener then reuses the port.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	bound := ln.Addr().String()
	ln.Close()

	dir, err := os.MkdirTemp("", "benchserver")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := fmt.Sprintf("server: {name: bench}\ntransport: http\nhttp: {addr: %q, stateless: %v, json_response: %v}\nlog: {level: warn}\n", bound, stateless, jsonResp)
	var token string
	var opts []fx.Option
	if mode == "chain" {
		resource := "http://" + bound + "/mcp"
		token = iss.Token(iss.Claims("bench-user", resource))
		cfg += fmt.Sprintf("auth: {oidc: {issuer: %q}}\n", iss.URL())
		cfg += chainConfig(dir, parts)
		if opts, err = chainModules(parts); err != nil {
			return err
		}
	} else {
		cfg += "auth: {disabled: true}\n"
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return err
	}
	app := core.App{Name: "benchserver", Version: "bench", Options: append([]fx.Option{echo.Module}, opts...)}
	announce(ready{URL: "http://" + bound + "/mcp", Token: token})
	code := core.Run(context.Background(), app, []string{"--config", path}, core.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.LookupEnv)
	if code != 0 {
		return fmt.Errorf("exit %d", code)
	}
	return nil
}
