package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// plainResponse must write exactly the bytes go-sdk's encoders write, for
// both revisions and every character a text or structured result may hold.
func TestPlainResponseBytes(t *testing.T) {
	impl := &mcp.Implementation{Name: "srv<&>", Title: "T \u2028", Version: "1"}
	texts := []string{"", "hello", `quote " backslash \ slash /`, "<b>&amp;</b>", "line\nbreak\ttab\r\x00\x1f\x7f", "\u2028\u2029",
		"é ü 中文 🙂", string([]byte{0xff, 'a'}), `{"json":"in text"}`}
	structured := []any{nil, json.RawMessage(`{"a":"<x>&y","n":1.50,"u":"\u2028"}`), json.RawMessage(`{ "spaced" : [ 1 , 2 ] }`),
		json.RawMessage(`{"text":"é\"\\"}`), json.RawMessage(`[]`)}
	ids := []jsonrpc.ID{}
	for _, v := range []any{float64(0), float64(7), float64(-3), float64(1 << 53)} {
		id, _ := jsonrpc.MakeID(v)
		ids = append(ids, id)
	}
	checked := 0
	for _, id := range ids {
		for _, text := range texts {
			for _, sc := range structured {
				for _, isErr := range []bool{false, true} {
					for _, sessionless := range []bool{false, true} {
						res := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}, StructuredContent: sc, IsError: isErr}
						if isErr {
							res.SetError(errors.New("boom"))
						}
						var meta []byte
						if sessionless {
							meta = serverMetaMember(impl)
						}
						fast := plainResponse(id, res, meta)
						if fast == nil {
							t.Fatalf("no plain response for %q %s", text, sc)
						}
						want := generalResponse(id, callOutcome{res: res}, sessionless, impl)
						if string(fast) != string(want) {
							t.Errorf("id %v, text %q, structured %s, isError %v, sessionless %v:\n plain:   %s\n go-sdk: %s", id.Raw(), text, sc, isErr, sessionless, fast, want)
						}
						checked++
					}
				}
			}
		}
	}
	t.Logf("%d responses byte-identical", checked)
	// Other shapes are left to the general encoder.
	sid, _ := jsonrpc.MakeID("s")
	one, _ := jsonrpc.MakeID(float64(1))
	for name, c := range map[string]struct {
		id  jsonrpc.ID
		res *mcp.CallToolResult
	}{
		"string id":     {sid, &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "x"}}}},
		"two blocks":    {one, &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "x"}, &mcp.TextContent{Text: "y"}}}},
		"image":         {one, &mcp.CallToolResult{Content: []mcp.Content{&mcp.ImageContent{Data: []byte("x"), MIMEType: "image/png"}}}},
		"meta":          {one, &mcp.CallToolResult{Meta: mcp.Meta{"k": 1}, Content: []mcp.Content{&mcp.TextContent{Text: "x"}}}},
		"annotated":     {one, &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "x", Annotations: &mcp.Annotations{Priority: 1}}}}},
		"typed struct":  {one, &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "x"}}, StructuredContent: map[string]any{"a": 1}}},
		"request state": {one, &mcp.CallToolResult{RequestState: "s", InputRequests: mcp.InputRequestMap{}}},
	} {
		if plainResponse(c.id, c.res, nil) != nil {
			t.Errorf("%s: took the plain encoding", name)
		}
	}
}

// A primeFlush is reused only when its timer was stopped in time, and a
// reused one flushes its new writer, never the one before.
func TestPrimeFlushReuse(t *testing.T) {
	d := &directPath{}
	quick := httptest.NewRecorder()
	p := d.startPrimeFlush(quick)
	p.finish()
	if quick.Flushed {
		t.Fatal("a call done before the delay flushed its priming event on its own")
	}
	long := httptest.NewRecorder()
	p2 := d.startPrimeFlush(long)
	deadline := time.Now().Add(5 * time.Second)
	for {
		p2.mu.Lock()
		flushed := long.Flushed
		p2.mu.Unlock()
		if flushed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a long call's priming event was not flushed")
		}
		time.Sleep(time.Millisecond)
	}
	p2.finish()
	if quick.Flushed {
		t.Fatal("a reused primeFlush flushed the writer of an earlier call")
	}
	// Its timer fired: it must not be handed out again.
	for range 100 {
		if p3 := d.startPrimeFlush(httptest.NewRecorder()); p3 == p2 {
			t.Fatal("a primeFlush whose timer fired was reused")
		} else {
			p3.finish()
		}
	}
}

// needsHTMLEscape is true exactly when json.HTMLEscape changes its input.
func TestNeedsHTMLEscape(t *testing.T) {
	for _, s := range []string{"", `{"a":1}`, "<", ">", "&", "\u2028", "\u2029", "\u2027", "\u202a",
		"\xff\u2028", "\xe2\u2028", "\xe2\x80", "\xe2\x80\xa8", "\xe2\x80\xaa", `{"t":"é 中 🙂"}`, "\xff\xfe"} {
		var escaped bytes.Buffer
		json.HTMLEscape(&escaped, []byte(s))
		if got, want := needsHTMLEscape([]byte(s)), escaped.String() != s; got != want {
			t.Errorf("needsHTMLEscape(%q) = %v, want %v", s, got, want)
		}
	}
}
