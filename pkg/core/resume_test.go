package core_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
)

// gateModule is a tool that returns only once release is closed.
func gateModule(release <-chan struct{}) fx.Option {
	return core.AsTool(func() *core.ToolDef {
		return core.NewTool(spec("gate", "demo", core.ReadOnly), func(ctx context.Context, _ *core.Call, _ pathIn) (pathOut, error) {
			select {
			case <-release:
				return pathOut{Caller: "gated"}, nil
			case <-ctx.Done():
				return pathOut{}, ctx.Err()
			}
		})
	})
}

// sseRequest builds a request on a 2025-11-25 session.
func sseRequest(ctx context.Context, method, url, session, body string) *http.Request {
	return sseRequestAs(ctx, keyA, method, url, session, body)
}

func sseRequestAs(ctx context.Context, key, method, url, session, body string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(ctx, method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	req.Header.Set("Mcp-Session-Id", session)
	return req
}

// resumeAnswer is what a resuming GET got: its status and each event as
// "id data".
type resumeAnswer struct {
	status int
	events []string
}

func resume(t *testing.T, url, session, lastEventID string) resumeAnswer {
	req := sseRequest(context.Background(), http.MethodGet, url, session, "")
	req.Header.Set("Last-Event-ID", lastEventID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return resumeAnswer{}
	}
	defer resp.Body.Close()
	ans := resumeAnswer{status: resp.StatusCode}
	var id string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			id = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			ans.events = append(ans.events, id+" "+v)
		}
	}
	return ans
}

// TestBrokenStreamResumes breaks a call's SSE stream after its priming
// event and resumes it with Last-Event-ID, while the call still runs and
// after it has finished, on both paths: the client gets the result either
// way, from the same events.
func TestBrokenStreamResumes(t *testing.T) {
	var answers [2][2]resumeAnswer
	for i, inline := range []bool{true, false} {
		release := make(chan struct{})
		h := startHTTP(t, []fx.Option{core.AsToolset(core.Toolset{Name: "demo", Default: true}), gateModule(release)},
			func(c *config.Config) { c.HTTP.InlineToolCalls = inline })
		// Registered after the server's stop, so run before it: a failed
		// run must not leave the call, and the stop, waiting.
		released := false
		t.Cleanup(func() {
			if !released {
				close(release)
			}
		})
		session := openSessionVersion(t, h.URL(), keyA, "2025-11-25")

		ctx, cancel := context.WithCancel(context.Background())
		resp, err := http.DefaultClient.Do(sseRequest(ctx, http.MethodPost, h.URL(), session,
			`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"gate","arguments":{}}}`))
		if err != nil {
			t.Fatal(err)
		}
		var prime string
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				prime = v
				break
			}
		}
		// The stream breaks.
		cancel()
		resp.Body.Close()
		if !strings.HasSuffix(prime, "_0") {
			t.Fatalf("inline=%v: priming event id %q", inline, prime)
		}

		got := make(chan resumeAnswer, 1)
		go func() {
			for deadline := time.Now().Add(5 * time.Second); ; {
				a := resume(t, h.URL(), session, prime)
				// go-sdk answers 409 while the POST that held the stream
				// has not yet seen the client go: a client tries again.
				if a.status != http.StatusConflict || time.Now().After(deadline) {
					got <- a
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
		select {
		case a := <-got:
			t.Fatalf("inline=%v: resuming a stream whose call still runs answered at once: %+v", inline, a)
		case <-time.After(100 * time.Millisecond):
		}
		// These must answer without waiting for the call; the timeout
		// turns a wait into a failure rather than a hang.
		quick := &http.Client{Timeout: 5 * time.Second}
		// Someone else resuming alice's stream is refused at once: no
		// waiting, no events.
		other := sseRequestAs(context.Background(), keyB, http.MethodGet, h.URL(), session, "")
		other.Header.Set("Last-Event-ID", prime)
		if resp, err := quick.Do(other); err != nil {
			t.Fatal(err)
		} else {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || strings.Contains(string(body), "gated") {
				t.Errorf("inline=%v: bob resuming alice's stream: %d %q", inline, resp.StatusCode, body)
			}
		}
		// A malformed event id is refused at once, as go-sdk refuses it,
		// even when its stream part names the running call's stream.
		bad := sseRequest(context.Background(), http.MethodGet, h.URL(), session, "")
		bad.Header.Set("Last-Event-ID", prime+"_1")
		if resp, err := quick.Do(bad); err != nil {
			t.Fatal(err)
		} else {
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("inline=%v: malformed Last-Event-ID: %d", inline, resp.StatusCode)
			}
		}
		close(release)
		released = true
		answers[i][0] = <-got
		answers[i][1] = resume(t, h.URL(), session, prime)
		if want := inline; (h.Server.DirectCalls() > 0) != want {
			t.Fatalf("inline=%v: direct path served %d calls", inline, h.Server.DirectCalls())
		}
		for j, a := range answers[i] {
			stream, _, _ := strings.Cut(prime, "_")
			if a.status != http.StatusOK || len(a.events) != 1 ||
				a.events[0] != stream+`_1 {"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"{\"reachable\":false,\"caller\":\"gated\"}"}],"structuredContent":{"reachable":false,"caller":"gated"}}}` {
				t.Errorf("inline=%v, resume %d: %+v", inline, j, a)
			}
			// Stream ids differ between servers; the rest must not.
			for k := range a.events {
				a.events[k] = strings.TrimPrefix(a.events[k], stream)
			}
		}
	}
	if fmt.Sprint(answers[0]) != fmt.Sprint(answers[1]) {
		t.Errorf("the paths differ:\ninline: %+v\ngo-sdk: %+v", answers[0], answers[1])
	}
}
