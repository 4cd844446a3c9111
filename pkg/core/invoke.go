package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// CodeServerBusy is the JSON-RPC error code for a call refused because the
// server-wide concurrency cap is reached. The client should retry later; the
// error data carries retryAfterMs.
const CodeServerBusy int64 = -32029

// invoker runs tool calls with the server-wide limits: a concurrency cap that
// refuses rather than queues, a per-tool timeout, panic containment and a cap
// on the encoded result size.
type invoker struct {
	logger         *slog.Logger
	slots          chan struct{}
	defaultTimeout time.Duration
	maxResultBytes int
	busyRetryAfter time.Duration
	inflight       atomic.Int64
	states         *stateSigner
}

func newInvoker(logger *slog.Logger, maxConcurrent int, timeout time.Duration, maxResultBytes int, key RequestStateKey) *invoker {
	return &invoker{
		states:         newStateSigner(key),
		logger:         logger,
		slots:          make(chan struct{}, maxConcurrent),
		defaultTimeout: timeout,
		maxResultBytes: maxResultBytes,
		busyRetryAfter: time.Second,
	}
}

// handler adapts a ToolDef to the raw go-sdk handler signature.
func (iv *invoker) handler(td *ToolDef) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		call, err := iv.prepare(ctx, td, req)
		if err != nil {
			return nil, err
		}
		return iv.invoke(ctx, td, call)
	}
}

// acquire takes a slot of the concurrency cap, or refuses with "busy".
func (iv *invoker) acquire() error {
	select {
	case iv.slots <- struct{}{}:
		iv.inflight.Add(1)
		return nil
	default:
		return &jsonrpc.Error{
			Code:    CodeServerBusy,
			Message: fmt.Sprintf("server busy: %d tool calls in flight; retry after %s", cap(iv.slots), iv.busyRetryAfter),
			Data:    json.RawMessage(fmt.Sprintf(`{"retryAfterMs":%d}`, iv.busyRetryAfter.Milliseconds())),
		}
	}
}

// timeout is how long a call of td may run; 0 for no limit.
func (iv *invoker) timeout(td *ToolDef) time.Duration {
	if td.spec.Timeout > 0 {
		return td.spec.Timeout
	}
	return iv.defaultTimeout
}

// callContext is the context of a direct-path call: cancellable, and with
// the tool's deadline, which saves the invoker a second timer and context.
// The deadline then runs from the request's arrival rather than from the
// handler's start, microseconds earlier.
func (s *Server) callContext(parent context.Context, tool string) (context.Context, context.CancelFunc) {
	if td := s.tools[tool]; td != nil {
		if t := s.calls.timeout(td); t > 0 {
			return context.WithTimeout(parent, t)
		}
	}
	return context.WithCancel(parent)
}

// release returns the slot acquire took.
func (iv *invoker) release() {
	iv.inflight.Add(-1)
	<-iv.slots
}

// prepare builds the Call for a request, verifying the request state an
// input-required retry carries.
func (iv *invoker) prepare(ctx context.Context, td *ToolDef, req *mcp.CallToolRequest) (*Call, error) {
	call := &Call{Request: req}
	call.task, _ = ctx.Value(taskRunKey{}).(*taskRun)
	if signed := req.Params.RequestState; signed != "" {
		state, err := iv.states.open(td.spec.Name, signed)
		if err != nil {
			return nil, err
		}
		call.state = state
	}
	return call, nil
}

// invoke decodes the arguments and runs the handler under the tool's
// timeout, turning its outcome into a result.
func (iv *invoker) invoke(ctx context.Context, td *ToolDef, call *Call) (*mcp.CallToolResult, error) {
	if err := iv.acquire(); err != nil {
		return nil, err
	}
	defer iv.release()
	in, err := td.decode(call.Request.Params.Arguments)
	if err != nil {
		return toolErrorResult(err), nil
	}
	timeout := iv.timeout(td)
	if dl, ok := ctx.Deadline(); timeout > 0 && (!ok || time.Until(dl) > timeout) {
		// (The direct path sets the deadline with the call's context.)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	res, out, err := iv.run(ctx, td, call, in)
	if err != nil {
		var need *InputRequired
		if errors.As(err, &need) {
			return &mcp.CallToolResult{InputRequests: need.Requests, RequestState: iv.states.sign(td.spec.Name, need.State)}, nil
		}
		if wire, ok := protocolError(err); ok {
			return nil, wire
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = fmt.Errorf("tool %s timed out after %s; narrow the request or try again later", td.spec.Name, timeout)
		}
		return toolErrorResult(err), nil
	}
	if res != nil {
		return res, nil
	}
	return iv.encode(td, out)
}

// run calls the handler, turning a panic into an internal protocol error so
// that one broken tool cannot take the server down.
func (iv *invoker) run(ctx context.Context, td *ToolDef, call *Call, in any) (res *mcp.CallToolResult, out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			iv.logger.ErrorContext(ctx, "tool panicked", "tool", td.spec.Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			res, out, err = nil, nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "internal error in tool " + td.spec.Name}
		}
	}()
	return td.invoke(ctx, call, in)
}

// encode marshals the structured result once and uses the same bytes for the
// structured content and, unless the type renders itself, the text content.
func (iv *invoker) encode(td *ToolDef, out any) (*mcp.CallToolResult, error) {
	data, err := marshalResult(out)
	if err != nil {
		return nil, fmt.Errorf("encoding result of %s: %w", td.spec.Name, err)
	}
	text := ""
	if t, ok := out.(Texter); ok {
		text = t.Text()
	}
	if size := len(data) + len(text); iv.maxResultBytes > 0 && size > iv.maxResultBytes {
		return toolErrorResult(fmt.Errorf("result of %s is %d bytes, over the %d-byte limit; narrow the request (filters, a smaller page size or a cursor)",
			td.spec.Name, size, iv.maxResultBytes)), nil
	}
	if text == "" {
		text = string(data)
	}
	return &mcp.CallToolResult{
		Content:           []mcp.Content{&mcp.TextContent{Text: text}},
		StructuredContent: json.RawMessage(data),
	}, nil
}

// marshalResult encodes a structured result without HTML escaping: the text
// is read by a model, to which "\u003c" is noise it may even copy back into
// what it writes, and the JSON stays valid either way.
func marshalResult(out any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// toolErrorResult is the one place a tool error is made: every message,
// from a handler or from schema validation, is bounded here.
func toolErrorResult(err error) *mcp.CallToolResult {
	// The original error stays available to middleware through GetError.
	res := mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: BoundMessage(err.Error())}}}
	res.SetError(err)
	return &res
}
