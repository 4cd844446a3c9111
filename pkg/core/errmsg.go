package core

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MaxErrorBytes bounds the message of every tool error and JSON-RPC error
// the core returns. A model reads the whole message on every retry, and an
// error that echoes a megabyte argument back costs the caller more than the
// call did; the bound keeps the start (what failed) and the end (what to
// do next) of a longer message.
const MaxErrorBytes = 1024

// quoteBytes is how much of a value [Quote] keeps.
const quoteBytes = 48

// Quote renders a value a caller sent for an error message: Go-quoted (so
// control and invisible characters show as escapes) and, when long, cut to
// its first few dozen bytes with the full length noted. Error messages
// quote input only through it.
func Quote(s string) string {
	if len(s) <= quoteBytes {
		return strconv.Quote(s)
	}
	cut := quoteBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("... (%d bytes)", len(s))
}

// BoundMessage shortens msg to at most [MaxErrorBytes], keeping its head and
// its tail, and makes it valid UTF-8 on one line.
func BoundMessage(msg string) string {
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	if len(msg) <= MaxErrorBytes {
		return msg
	}
	const tail = MaxErrorBytes / 3
	// The marker's length with the whole length as the count bounds its
	// length with the real count, which is smaller.
	head := MaxErrorBytes - tail - len(fmt.Sprintf(" ... [%d bytes cut] ... ", len(msg)))
	for head > 0 && !utf8.RuneStart(msg[head]) {
		head--
	}
	from := len(msg) - tail
	for from < len(msg) && !utf8.RuneStart(msg[from]) {
		from++
	}
	marker := fmt.Sprintf(" ... [%d bytes cut] ... ", from-head)
	return msg[:head] + marker + msg[from:]
}

// InvalidParams is a JSON-RPC "invalid params" (-32602) error for a prompt
// or resource request the caller must change; the message says how.
func InvalidParams(format string, a ...any) error {
	return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: BoundMessage(fmt.Sprintf(format, a...))}
}

// ResourceNotFound is the MCP "resource not found" error (invalid params,
// -32602, as the 2025-11-25 revision and go-sdk have it) with a message that
// says what to do instead of the bare default.
func ResourceNotFound(format string, a ...any) error {
	return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: BoundMessage(fmt.Sprintf(format, a...))}
}

// wireError turns what a prompt or resource handler returned into a JSON-RPC
// error with a valid code and a bounded message. A plain error from such a
// handler is, by this package's convention, about the request (a bad or
// unknown id), so it becomes invalid params; a handler reports its own
// failures as a *jsonrpc.Error with CodeInternalError.
func wireError(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var wire *jsonrpc.Error
	if errors.As(err, &wire) && wire.Code != 0 {
		if wire == err && len(wire.Message) <= MaxErrorBytes {
			return err
		}
		// A wrapped error keeps its code and the outer message, as go-sdk
		// would send it.
		return &jsonrpc.Error{Code: wire.Code, Message: BoundMessage(err.Error()), Data: wire.Data}
	}
	return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: BoundMessage(err.Error())}
}

// boundErrorsMiddleware is the outermost receiving middleware: whatever any
// layer (go-sdk included) answers, a JSON-RPC error carries a valid code and
// a bounded message, and a tool error's text is bounded.
func boundErrorsMiddleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		if err != nil {
			var wire *jsonrpc.Error
			switch {
			case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			case errors.As(err, &wire) && wire.Code != 0:
				if wire != err || len(wire.Message) > MaxErrorBytes {
					err = &jsonrpc.Error{Code: wire.Code, Message: BoundMessage(err.Error()), Data: wire.Data}
				}
			default:
				err = &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: BoundMessage(err.Error())}
			}
			return res, err
		}
		if r, ok := res.(*mcp.CallToolResult); ok && r != nil && r.IsError {
			for _, c := range r.Content {
				if t, ok := c.(*mcp.TextContent); ok && len(t.Text) > MaxErrorBytes {
					t.Text = BoundMessage(t.Text)
				}
			}
		}
		return res, err
	}
}

// boundPrompt and boundResource give prompt and resource handlers the same
// error rules as tools.
func boundPrompt(h mcp.PromptHandler) mcp.PromptHandler {
	return func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		res, err := h(ctx, req)
		return res, wireError(err)
	}
}

func boundResource(h mcp.ResourceHandler) mcp.ResourceHandler {
	return func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		res, err := h(ctx, req)
		return res, wireError(err)
	}
}
