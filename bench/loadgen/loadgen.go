// Package loadgen drives an MCP server over Streamable HTTP with raw JSON-RPC
// requests: each worker opens its own session (initialize, initialized) and
// then calls one tool in a loop. It is deliberately lighter than an SDK
// client so that, on a two-core machine, the client is not what limits the
// measurement.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Target is the server under test.
type Target struct {
	URL   string
	Token string // sent as a bearer token when not empty
	// Stateless skips the session handshake.
	Stateless bool
	// Revision is the protocol revision to speak: "" for 2025-11-25 (with a
	// session unless Stateless), or "2026-07-28": no handshake, the version
	// and capabilities in every request's _meta, Mcp-Method and Mcp-Name
	// headers.
	Revision string
}

// Sessionless is the protocol revision without sessions.
const Sessionless = "2026-07-28"

// Load describes one measurement.
type Load struct {
	Sessions int
	Duration time.Duration
	Tool     string
	// Args is the JSON object sent as the tool's arguments.
	Args json.RawMessage
}

// Result summarises one measurement.
type Result struct {
	Calls    int
	Errors   int
	Elapsed  time.Duration
	P50, P99 time.Duration
	// FirstError is the first failure seen, for diagnosis.
	FirstError string
	// latencies are every successful call's, sorted, for Merge.
	latencies []time.Duration
}

// CallsPerSecond is the throughput of successful calls.
func (r Result) CallsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Calls) / r.Elapsed.Seconds()
}

// NewClient returns an HTTP client sized for sessions concurrent workers.
func NewClient(sessions int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        sessions * 2,
		MaxIdleConnsPerHost: sessions * 2,
		IdleConnTimeout:     time.Minute,
	}, Timeout: 30 * time.Second}
}

// Run measures load against target for l.Duration: it opens l.Sessions
// sessions, drives them and closes them.
func Run(ctx context.Context, client *http.Client, target Target, l Load) (Result, error) {
	p, err := Open(ctx, client, target, l.Sessions)
	if err != nil {
		return Result{}, err
	}
	defer p.Close()
	return p.Run(ctx, l.Duration, l.Tool, l.Args), nil
}

// Pool is a set of open sessions, one per worker, that can be driven
// several times. fleetbench measures several servers in short interleaved
// slices and opens each server's sessions once, outside the measurement.
type Pool struct {
	sessions []*session
}

// Open opens n sessions on target (for a sessionless target, n workers).
func Open(ctx context.Context, client *http.Client, target Target, n int) (*Pool, error) {
	p := &Pool{}
	for i := range n {
		s, err := open(ctx, client, target)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("session %d: %w", i, err)
		}
		p.sessions = append(p.sessions, s)
	}
	return p, nil
}

// Close ends the pool's sessions.
func (p *Pool) Close() {
	for _, s := range p.sessions {
		s.close(context.Background())
	}
	p.sessions = nil
}

// Run calls tool in a closed loop on every session of the pool for d. A
// worker stops starting calls at the deadline but finishes, and counts, the
// call it has in flight, so that the server's CPU over the window is spent
// on counted calls only: cutting the last calls short would charge a server
// for up to one unfinished call per session, a bias that grows as slices
// get shorter. Cancelling ctx stops the workers at once.
func (p *Pool) Run(ctx context.Context, d time.Duration, tool string, args json.RawMessage) Result {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		res       Result
		wg        sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for _, s := range p.sessions {
		wg.Go(func() {
			local := make([]time.Duration, 0, 4096)
			var errs int
			var firstErr string
			for id := 2; ctx.Err() == nil && time.Now().Before(deadline); id++ {
				t0 := time.Now()
				err := s.callTool(ctx, id, tool, args)
				if ctx.Err() != nil {
					break // cancelled: this call may not have finished
				}
				if err != nil {
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			defer mu.Unlock()
			latencies = append(latencies, local...)
			res.Errors += errs
			if res.FirstError == "" {
				res.FirstError = firstErr
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Calls = len(latencies)
	slices.Sort(latencies)
	res.latencies = latencies
	res.P50 = percentile(latencies, 0.50)
	res.P99 = percentile(latencies, 0.99)
	return res
}

// Merge sums results measured one after another on the same server (the
// slices of one fleetbench cell): their calls, errors and time, with the
// percentiles taken over every call of every slice.
func Merge(rs ...Result) Result {
	var out Result
	for _, r := range rs {
		out.Calls += r.Calls
		out.Errors += r.Errors
		out.Elapsed += r.Elapsed
		if out.FirstError == "" {
			out.FirstError = r.FirstError
		}
		out.latencies = append(out.latencies, r.latencies...)
	}
	slices.Sort(out.latencies)
	out.P50 = percentile(out.latencies, 0.50)
	out.P99 = percentile(out.latencies, 0.99)
	return out
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return sorted[i]
}

type session struct {
	client  *http.Client
	target  Target
	id      string
	version string
	tool    string // named in Mcp-Name under 2026-07-28
	buf     bytes.Buffer
}

const protocolVersion = "2025-11-25"

func open(ctx context.Context, client *http.Client, target Target) (*session, error) {
	s := &session{client: client, target: target}
	if target.Revision == Sessionless {
		s.version = Sessionless
		return s, nil
	}
	if target.Stateless {
		s.version = protocolVersion
		return s, nil
	}
	init := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":%q,"capabilities":{},"clientInfo":{"name":"loadgen","version":"1"}}}`, protocolVersion)
	resp, body, err := s.post(ctx, []byte(init))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("initialize: %s: %s", resp.Status, body)
	}
	s.id = resp.Header.Get("Mcp-Session-Id")
	s.version = protocolVersion
	resp, body, err = s.post(ctx, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusAccepted {
		return nil, fmt.Errorf("initialized: %s: %s", resp.Status, body)
	}
	return s, nil
}

func (s *session) close(ctx context.Context) {
	if s.id == "" {
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, s.target.URL, nil)
	if err != nil {
		return
	}
	s.headers(req)
	if resp, err := s.client.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func (s *session) headers(req *http.Request) {
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if s.id != "" {
		req.Header.Set("Mcp-Session-Id", s.id)
	}
	if s.version != "" {
		req.Header.Set("Mcp-Protocol-Version", s.version)
	}
	if s.target.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.target.Token)
	}
	if s.version == Sessionless && s.tool != "" {
		req.Header.Set("Mcp-Method", "tools/call")
		req.Header.Set("Mcp-Name", s.tool)
	}
}

// post sends one message and returns the response with its JSON-RPC payload
// (taken from the SSE stream when the server streams).
func (s *session) post(ctx context.Context, msg []byte) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.target.URL, bytes.NewReader(msg))
	if err != nil {
		return nil, nil, err
	}
	s.headers(req)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	s.buf.Reset()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		data, err := firstSSEData(resp.Body)
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp, data, err
	}
	_, err = s.buf.ReadFrom(resp.Body)
	return resp, s.buf.Bytes(), err
}

// firstSSEData returns the first event's data that is a JSON-RPC response.
func firstSSEData(r io.Reader) ([]byte, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if data, ok := bytes.CutPrefix(line, []byte("data: ")); ok && bytes.Contains(data, []byte(`"id"`)) {
			return slices.Clone(data), nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("stream ended without a response")
}

func (s *session) callTool(ctx context.Context, id int, tool string, args json.RawMessage) error {
	msg := make([]byte, 0, 128+len(args))
	msg = append(msg, `{"jsonrpc":"2.0","id":`...)
	msg = strconv.AppendInt(msg, int64(id), 10)
	msg = append(msg, `,"method":"tools/call","params":{"name":`...)
	msg = strconv.AppendQuote(msg, tool)
	msg = append(msg, `,"arguments":`...)
	msg = append(msg, args...)
	if s.version == Sessionless {
		msg = append(msg, `,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`...)
	}
	msg = append(msg, `}}`...)
	s.tool = tool
	resp, body, err := s.post(ctx, msg)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
	}
	if bytes.Contains(body, []byte(`"error":{`)) || bytes.Contains(body, []byte(`"isError":true`)) {
		return fmt.Errorf("call failed: %s", body)
	}
	return nil
}
