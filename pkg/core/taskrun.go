package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/tasks"
)

// TaskSupport says whether a tool may run as a task (the
// io.modelcontextprotocol/tasks extension).
type TaskSupport int

const (
	// TaskNever: the tool always answers in its request (the default).
	TaskNever TaskSupport = iota
	// TaskOptional: the tool may continue as a task when the client
	// negotiated the extension, and runs synchronously otherwise.
	TaskOptional
	// TaskRequired: the tool only runs as a task; a client without the
	// extension gets a missing-capability error (-32021).
	TaskRequired
)

func (t TaskSupport) String() string {
	switch t {
	case TaskOptional:
		return "optional"
	case TaskRequired:
		return "required"
	}
	return "forbidden"
}

// Task timing: how long a task stays fetchable after its last change, and
// how often clients are told to poll.
const (
	taskTTL          = 10 * time.Minute
	taskPollInterval = 500 * time.Millisecond
)

// Detach turns the running call into a task when its tool supports tasks
// and the client negotiated the extension: the request is answered at once
// with the task's id, and the handler goes on in the background; its
// result, error or input requests are what tasks/get reports. It returns
// whether the call is now (or already was) a task. Without task support it
// does nothing and the call stays synchronous, so a tool calls Detach
// before long work without caring who is asking.
func (c *Call) Detach() bool {
	if c == nil || c.task == nil {
		return false
	}
	return c.task.detach()
}

// TaskID returns the id of the task the call runs as, or "".
func (c *Call) TaskID() string {
	if c == nil || c.task == nil {
		return ""
	}
	return c.task.id()
}

// taskRun is one call that may become a task.
type taskRun struct {
	mu       sync.Mutex
	detached bool
	rec      *tasks.Record
	create   func() (*tasks.Record, error) // stores the task record
	onDetach chan *tasks.Record            // receives the record once
	err      error
}

func (t *taskRun) id() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rec == nil {
		return ""
	}
	return t.rec.ID
}

func (t *taskRun) detach() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.detached {
		return t.err == nil
	}
	t.detached = true
	t.rec, t.err = t.create()
	t.onDetach <- t.rec
	return t.err == nil
}

// taskEngine runs task-capable tool calls and serves tasks/get, tasks/update
// and tasks/cancel.
type taskEngine struct {
	store  *tasks.Store
	logger *slog.Logger
	// cancels holds the cancel functions of tasks running in this process;
	// tasks/cancel on another replica is seen by the runner's watch.
	mu      sync.Mutex
	cancels map[string]context.CancelFunc
}

func newTaskEngine(store *tasks.Store, logger *slog.Logger) *taskEngine {
	return &taskEngine{store: store, logger: logger, cancels: map[string]context.CancelFunc{}}
}

// CreateTaskResult is the answer to a tools/call that became a task.
type CreateTaskResult struct {
	mcp.ResultBase
	ResultType string `json:"resultType"`
	tasks.Task
}

type resultFilterKey struct{}

// WithResultFilter returns ctx carrying f, which a tool call that becomes
// a task applies to its result before the result is stored. Middleware
// that rewrites results on the way out (the policy's redaction for the
// caller's clearance) sets it, so that a result fetched later with
// tasks/get is the one the call itself would have answered.
func WithResultFilter(ctx context.Context, f func(mcp.Result) mcp.Result) context.Context {
	return context.WithValue(ctx, resultFilterKey{}, f)
}

// DetailedTask is the answer to tasks/get.
type DetailedTask struct {
	mcp.ResultBase
	ResultType string `json:"resultType"`
	tasks.Task
	Result        json.RawMessage            `json:"result,omitempty"`
	Error         json.RawMessage            `json:"error,omitempty"`
	InputRequests map[string]json.RawMessage `json:"inputRequests,omitempty"`
}

// TaskAck is the empty answer to tasks/update and tasks/cancel.
type TaskAck struct {
	mcp.ResultBase
	ResultType string `json:"resultType"`
}

// clientHasTasks reports whether the request's client negotiated the tasks
// extension: per request under 2026-07-28, or at initialize before.
func clientHasTasks(meta map[string]any, ss *mcp.ServerSession) bool {
	if caps, ok := meta[mcp.MetaKeyClientCapabilities].(map[string]any); ok {
		if ext, ok := caps["extensions"].(map[string]any); ok {
			if _, ok := ext[tasks.ExtensionID]; ok {
				return true
			}
		}
	}
	if ss != nil {
		if p := ss.InitializeParams(); p != nil && p.Capabilities != nil {
			if _, ok := p.Capabilities.Extensions[tasks.ExtensionID]; ok {
				return true
			}
		}
	}
	return false
}

func owner(ctx context.Context) string {
	if p := authn.FromContext(ctx); p != nil {
		return string(p.Method) + ":" + p.Subject
	}
	return ""
}

// missingTasksCapability is the error for a task method, or a
// task-required tool, called by a client without the extension.
func missingTasksCapability() error {
	return &jsonrpc.Error{
		Code:    CodeMissingClientCapability,
		Message: "this request needs the " + tasks.ExtensionID + " extension, which the client did not declare",
		Data:    json.RawMessage(`{"requiredCapabilities":{"extensions":{"` + tasks.ExtensionID + `":{}}}}`),
	}
}

// outcome is what one run of a handler produced.
type outcome struct {
	raw mcp.Result
	res *mcp.CallToolResult // raw, when it is a tool result
	err error
}

// runFunc runs the rest of the tools/call chain once for req (go-sdk's
// dispatch, then core's tool handler).
type runFunc func(ctx context.Context, req *mcp.CallToolRequest) (mcp.Result, error)

type taskRunKey struct{}

// call runs a call of a task-capable tool. The handler starts in its own
// goroutine; if it returns before calling Detach, its result is the
// request's answer as for any tool. If it detaches, the request is
// answered with a CreateTaskResult and the runner takes over.
func (e *taskEngine) call(ctx context.Context, req *mcp.CallToolRequest, td *ToolDef, run runFunc) (mcp.Result, error) {
	if !clientHasTasks(req.Params.Meta, req.Session) {
		if td.spec.Task == TaskRequired {
			return nil, missingTasksCapability()
		}
		return run(ctx, req)
	}
	if filter, ok := ctx.Value(resultFilterKey{}).(func(mcp.Result) mcp.Result); ok {
		// A detached run's result is stored and fetched later with
		// tasks/get, past the middleware that would have filtered it on
		// the way out: filter it before it is stored.
		inner := run
		run = func(ctx context.Context, req *mcp.CallToolRequest) (mcp.Result, error) {
			res, err := inner(ctx, req)
			if err == nil && res != nil {
				res = filter(res)
			}
			return res, err
		}
	}
	who := owner(ctx)
	// The handler may outlive the request, so it gets a context that only
	// the request's cancellation (until it detaches) or tasks/cancel ends.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stopFollowing := context.AfterFunc(ctx, cancel)
	tr := &taskRun{onDetach: make(chan *tasks.Record, 1)}
	tr.create = func() (*tasks.Record, error) {
		stopFollowing()
		rec, err := e.store.Create(runCtx, who, td.spec.Name)
		if err == nil {
			e.mu.Lock()
			e.cancels[rec.ID] = cancel
			e.mu.Unlock()
		}
		return rec, err
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := run(context.WithValue(runCtx, taskRunKey{}, tr), req)
		done <- toOutcome(res, err)
	}()
	var first *outcome
	var rec *tasks.Record
	select {
	case o := <-done:
		tr.mu.Lock()
		detached := tr.detached
		tr.mu.Unlock()
		if !detached {
			stopFollowing()
			cancel()
			return o.raw, o.err
		}
		first, rec = &o, <-tr.onDetach
	case rec = <-tr.onDetach:
	}
	if tr.err != nil {
		cancel()
		return nil, fmt.Errorf("creating a task: %w", tr.err)
	}
	go func() {
		o := first
		if o == nil {
			got := <-done
			o = &got
		}
		e.settle(runCtx, cancel, who, rec.ID, req, run, *o)
	}()
	return &CreateTaskResult{ResultType: "task", Task: rec.Task}, nil
}

func toOutcome(res mcp.Result, err error) outcome {
	o := outcome{raw: res, err: err}
	o.res, _ = res.(*mcp.CallToolResult)
	return o
}

// settle records a detached run's outcome. While the tool asks for input,
// it parks the task in input_required, waits for the answers (tasks/update)
// and runs the tool again with them.
func (e *taskEngine) settle(ctx context.Context, cancel context.CancelFunc, who, id string, req *mcp.CallToolRequest, run runFunc, o outcome) {
	defer func() {
		cancel()
		e.mu.Lock()
		delete(e.cancels, id)
		e.mu.Unlock()
	}()
	// Watch for a cancel requested on any replica.
	go e.watchCancel(ctx, cancel, who, id)
	again := &taskRun{detached: true, rec: &tasks.Record{Task: tasks.Task{ID: id}}}
	for {
		if ctx.Err() != nil {
			e.finish(who, id, tasks.Cancelled, nil, nil, "cancelled by the client")
			return
		}
		if o.err == nil && o.res != nil && o.res.InputRequests != nil {
			responses, ok := e.awaitInput(ctx, who, id, o.res.InputRequests)
			if !ok {
				if ctx.Err() != nil {
					e.finish(who, id, tasks.Cancelled, nil, nil, "cancelled by the client")
				}
				return
			}
			params := *req.Params
			params.InputResponses, params.RequestState = responses, o.res.RequestState
			next := *req
			next.Params = &params
			o = toOutcome(run(context.WithValue(ctx, taskRunKey{}, again), &next))
			continue
		}
		if o.err != nil {
			wire, ok := protocolError(o.err)
			if !ok {
				wire = &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: o.err.Error()}
			}
			raw, _ := json.Marshal(wire)
			e.finish(who, id, tasks.Failed, nil, raw, wire.Message)
			return
		}
		raw, err := json.Marshal(o.raw)
		if err != nil {
			e.finish(who, id, tasks.Failed, nil, json.RawMessage(`{"code":-32603,"message":"encoding the result failed"}`), "encoding the result failed")
			return
		}
		e.finish(who, id, tasks.Completed, raw, nil, "")
		return
	}
}

// awaitInput parks the task in input_required with the tool's questions
// and waits until every one is answered. It returns the answers and the
// tool's state for the next round.
func (e *taskEngine) awaitInput(ctx context.Context, who, id string, requests mcp.InputRequestMap) (mcp.InputResponseMap, bool) {
	asked := map[string]json.RawMessage{}
	for k, v := range requests {
		raw, err := json.Marshal(mcp.InputRequestMap{k: v})
		if err != nil {
			return nil, false
		}
		var one map[string]json.RawMessage
		_ = json.Unmarshal(raw, &one)
		asked[k] = one[k]
	}
	var round int
	_, err := e.store.Update(context.WithoutCancel(ctx), who, id, func(r *tasks.Record) {
		r.Status, r.StatusMessage = tasks.InputRequired, "waiting for the client's answers"
		r.InputRequests, r.Responses = asked, map[string]json.RawMessage{}
		r.Round++
		round = r.Round
	})
	if err != nil {
		return nil, false
	}
	t := time.NewTicker(taskPollInterval / 5)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, false
		case <-t.C:
		}
		r, err := e.store.Get(ctx, who, id)
		if err != nil || r.Status.Terminal() || r.Round != round {
			return nil, false
		}
		if len(r.InputRequests) > 0 || r.Status != tasks.Working {
			continue
		}
		raw, _ := json.Marshal(r.Responses)
		var responses mcp.InputResponseMap
		if err := json.Unmarshal(raw, &responses); err != nil {
			e.finish(who, id, tasks.Failed, nil, json.RawMessage(`{"code":-32602,"message":"the input responses could not be read"}`), "bad input responses")
			return nil, false
		}
		return responses, true
	}
}

func (e *taskEngine) watchCancel(ctx context.Context, cancel context.CancelFunc, who, id string) {
	t := time.NewTicker(taskPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if r, err := e.store.Get(ctx, who, id); err == nil && (r.CancelRequested || r.Status.Terminal()) {
			cancel()
			return
		}
	}
}

func (e *taskEngine) finish(who, id string, status tasks.Status, result, rpcErr json.RawMessage, msg string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := e.store.Update(ctx, who, id, func(r *tasks.Record) {
		if r.CancelRequested {
			status, result, rpcErr, msg = tasks.Cancelled, nil, nil, "cancelled by the client"
		}
		r.Status, r.StatusMessage, r.Result, r.Error = status, msg, result, rpcErr
		r.InputRequests, r.Responses = nil, nil
	})
	if err != nil {
		e.logger.Warn("recording a task's outcome failed", "task", id, "error", err)
	}
}

// taskParams are the params of tasks/get, tasks/update and tasks/cancel.
type taskParams struct {
	mcp.ParamsBase
	TaskID         string                     `json:"taskId"`
	InputResponses map[string]json.RawMessage `json:"inputResponses,omitempty"`
}

type taskEngineKey struct{}

// lookupMiddleware lets the layers below it find the tool of a task the
// caller names ([TaskTool]).
func (e *taskEngine) lookupMiddleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if strings.HasPrefix(method, "tasks/") {
			ctx = context.WithValue(ctx, taskEngineKey{}, e)
		}
		return next(ctx, method, req)
	}
}

// TaskTool names the tool that the calling principal's task id runs; ok
// is false when the server runs no tasks, the method is not a task method
// or the caller has no such task. The policy uses it to govern tasks/get,
// tasks/update and tasks/cancel as uses of that tool.
func TaskTool(ctx context.Context, id string) (tool string, ok bool) {
	e, _ := ctx.Value(taskEngineKey{}).(*taskEngine)
	if e == nil || id == "" {
		return "", false
	}
	r, err := e.store.Get(ctx, owner(ctx), id)
	if err != nil {
		return "", false
	}
	return r.Tool, true
}

// UnknownTask is the answer to a task id the caller has no task of. It is
// the same whether the task does not exist, belongs to another principal,
// or is hidden by the policy, so that it tells nothing.
func UnknownTask(id string) error { return unknownTask(id) }

func unknownTask(id string) error {
	return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown task %q", id)}
}

// lookup checks the capability and finds the caller's task.
func (e *taskEngine) lookup(ctx context.Context, ss *mcp.ServerSession, p *taskParams) (*tasks.Record, error) {
	if !clientHasTasks(p.GetMeta(), ss) {
		return nil, missingTasksCapability()
	}
	if p.TaskID == "" {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "taskId is required"}
	}
	r, err := e.store.Get(ctx, owner(ctx), p.TaskID)
	if errors.Is(err, tasks.ErrNotFound) {
		return nil, unknownTask(p.TaskID)
	}
	return r, err
}

func (e *taskEngine) get(ctx context.Context, ss *mcp.ServerSession, p *taskParams) (*DetailedTask, error) {
	r, err := e.lookup(ctx, ss, p)
	if err != nil {
		return nil, err
	}
	d := &DetailedTask{ResultType: "complete", Task: r.Task}
	switch r.Status {
	case tasks.Completed:
		d.Result = r.Result
	case tasks.Failed:
		d.Error = r.Error
	case tasks.InputRequired:
		d.InputRequests = r.InputRequests
	}
	return d, nil
}

func (e *taskEngine) update(ctx context.Context, ss *mcp.ServerSession, p *taskParams) (*TaskAck, error) {
	r, err := e.lookup(ctx, ss, p)
	if err != nil {
		return nil, err
	}
	if r.Status == tasks.InputRequired {
		_, err = e.store.Update(ctx, r.Owner, r.ID, func(r *tasks.Record) {
			if r.Responses == nil {
				r.Responses = map[string]json.RawMessage{}
			}
			for k, v := range p.InputResponses {
				if _, pending := r.InputRequests[k]; pending {
					r.Responses[k] = v
					delete(r.InputRequests, k)
				}
			}
			if len(r.InputRequests) == 0 {
				r.Status, r.StatusMessage = tasks.Working, ""
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return &TaskAck{ResultType: "complete"}, nil
}

func (e *taskEngine) cancel(ctx context.Context, ss *mcp.ServerSession, p *taskParams) (*TaskAck, error) {
	r, err := e.lookup(ctx, ss, p)
	if err != nil {
		return nil, err
	}
	if !r.Status.Terminal() {
		if _, err := e.store.Update(ctx, r.Owner, r.ID, func(r *tasks.Record) {
			r.CancelRequested = true
			r.Status, r.StatusMessage = tasks.Cancelled, "cancelled by the client"
			r.InputRequests, r.Responses = nil, nil
		}); err != nil {
			return nil, err
		}
		e.mu.Lock()
		stop := e.cancels[r.ID]
		e.mu.Unlock()
		if stop != nil {
			stop()
		}
	}
	return &TaskAck{ResultType: "complete"}, nil
}

// register adds the task methods to the server.
func (e *taskEngine) register(s *mcp.Server) error {
	return errors.Join(
		mcp.AddReceivingCustomMethod(s, "tasks/get", e.get),
		mcp.AddReceivingCustomMethod(s, "tasks/update", e.update),
		mcp.AddReceivingCustomMethod(s, "tasks/cancel", e.cancel),
	)
}

// taskMiddleware sends tools/call of task-capable tools through the engine.
func taskMiddleware(e *taskEngine, tools map[string]*ToolDef) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			r, ok := req.(*mcp.CallToolRequest)
			if !ok || method != "tools/call" {
				return next(ctx, method, req)
			}
			td := tools[r.Params.Name]
			if td == nil {
				return next(ctx, method, req)
			}
			return e.call(ctx, r, td, func(ctx context.Context, r *mcp.CallToolRequest) (mcp.Result, error) {
				return next(ctx, method, r)
			})
		}
	}
}
