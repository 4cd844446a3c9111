package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/trace"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
)

// Governance is how the policy treats an MCP method.
type Governance uint8

const (
	// Protocol methods carry no server data and act on nothing but the
	// caller's own connection (initialize, ping, logging level,
	// notifications); they pass untouched.
	Protocol Governance = iota
	// Decided methods return server data or act: each request is decided
	// for the tool, resource or prompt it names, rate-limited, redacted
	// and audited under its own method name.
	Decided
	// Listed methods return a list that is filtered by the same decision,
	// so a caller sees exactly what it may use.
	Listed
)

// Methods is how every MCP method a server handles is governed, in both
// protocol revisions. A request for a method missing here is refused
// (fail closed), and a test compares this table with go-sdk's own method
// table, so a method added to go-sdk or registered by a server later
// cannot pass ungoverned.
var Methods = map[string]Governance{
	"initialize":                       Protocol,
	"server/discover":                  Protocol,
	"ping":                             Protocol,
	"logging/setLevel":                 Protocol,
	"resources/unsubscribe":            Protocol, // ends the caller's own subscription
	"notifications/initialized":        Protocol,
	"notifications/cancelled":          Protocol,
	"notifications/progress":           Protocol,
	"notifications/roots/list_changed": Protocol,

	"tools/call":           Decided,
	"resources/read":       Decided,
	"resources/subscribe":  Decided, // as a read of the URI: updates reveal its contents changed
	"subscriptions/listen": Decided, // each resource URI it names, as above
	"prompts/get":          Decided,
	"completion/complete":  Decided, // as a use of the prompt or resource it completes for
	// The tasks extension (core's task engine) answers a task only to the
	// principal whose tools/call created it; each method is decided as a
	// use of the task's tool (governTask).
	"tasks/get":    Decided,
	"tasks/update": Decided,
	"tasks/cancel": Decided,

	"tools/list":               Listed,
	"resources/list":           Listed,
	"resources/templates/list": Listed,
	"prompts/list":             Listed,
}

// recordMethods are the methods audit records name; callRecord keeps an
// index into it.
var recordMethods = []string{"tools/call", "resources/read", "resources/subscribe", "subscriptions/listen",
	"prompts/get", "completion/complete", "tasks/get", "tasks/update", "tasks/cancel"}

func methodIndex(method string) uint8 {
	for i, m := range recordMethods {
		if m == method {
			return uint8(i)
		}
	}
	panic("policy: " + method + " is decided but has no audit name")
}

// target is one feature a request uses.
type target struct {
	kind Kind
	name string
}

// govern applies the policy to a Decided or Listed method other than
// tools/call and tools/list.
func (e *Enforcer) govern(ctx context.Context, next mcp.MethodHandler, method string, req mcp.Request, g Governance) (mcp.Result, error) {
	if g == Listed {
		return e.filterList(ctx, next, method, req)
	}
	if strings.HasPrefix(method, "tasks/") {
		return e.governTask(ctx, next, method, req)
	}
	var targets []target
	var args any
	switch p := req.GetParams().(type) {
	case *mcp.ReadResourceParams:
		targets, args = []target{{KindResource, p.URI}}, map[string]string{"uri": p.URI}
	case *mcp.SubscribeParams:
		targets, args = []target{{KindResource, p.URI}}, map[string]string{"uri": p.URI}
	case *mcp.GetPromptParams:
		targets, args = []target{{KindPrompt, p.Name}}, p.Arguments
	case *mcp.CompleteParams:
		if p.Ref == nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "completion/complete needs a ref"}
		}
		switch p.Ref.Type {
		case "ref/prompt":
			targets = []target{{KindPrompt, p.Ref.Name}}
		case "ref/resource":
			targets = []target{{KindResource, p.Ref.URI}}
		default:
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("completion ref type %q is not ref/prompt or ref/resource", p.Ref.Type)}
		}
		args = map[string]any{"ref": p.Ref, "argument": p.Argument.Name}
	case *mcp.SubscriptionsListenParams:
		if p.Notifications == nil || len(p.Notifications.ResourceSubscriptions) == 0 {
			// Only list-changed notifications, which name nothing: the
			// lists they prompt are filtered.
			return next(ctx, method, req)
		}
		for _, uri := range p.Notifications.ResourceSubscriptions {
			targets = append(targets, target{KindResource, uri})
		}
		args = map[string]any{"uris": p.Notifications.ResourceSubscriptions}
	default:
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: method + " needs params"}
	}
	return e.decideFeature(ctx, next, method, req, targets, args)
}

// spec describes a resource or prompt to the engine as a read-only
// feature of its kind.
func (e *Enforcer) spec(t target) core.ToolSpec {
	s := core.ToolSpec{Name: t.name, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.No,
		Permissions: core.NoPermissions}
	switch t.kind {
	case KindPrompt:
		s.Title, s.Toolset = "Prompt", PromptToolset
		s.Classification = e.promptClass(t.name)
	default:
		s.Title, s.Toolset = "Resource", ResourceToolset
		s.Classification = e.resourceClass(t.name)
	}
	return s
}

// promptClass is a prompt's classification; an unknown prompt counts as
// restricted, like an unknown resource.
func (e *Enforcer) promptClass(name string) core.Classification {
	if c, ok := e.prompts[name]; ok {
		return c
	}
	return core.Restricted
}

// decideFeature decides, limits, runs, redacts and audits a request that
// uses resources or prompts. Every target must be allowed.
func (e *Enforcer) decideFeature(ctx context.Context, next mcp.MethodHandler, method string, req mcp.Request,
	targets []target, args any) (res mcp.Result, err error) {
	raw, _ := json.Marshal(args)
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.name
	}
	rec, done, err := e.record(ctx, method, req, strings.Join(names, " "), raw)
	if err != nil {
		return nil, err
	}
	st, start := rec.st, rec.start
	submitted := false
	submit := func() {
		if !submitted {
			submitted = true
			done(res, err)
		}
	}
	defer submit()

	refuse := func(outcome, msg string) (mcp.Result, error) {
		rec.outcome, rec.errText = outcome, msg
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: msg}
	}
	redact := false
	for _, t := range targets {
		tp := st.eng.Feature(e.server, t.kind, e.spec(t))
		d := tp.Decide(rec.principal, raw, start)
		rec.decision, rec.decided = d, true
		st.opts.count(d.Rule, d.Allowed)
		switch {
		case !d.Allowed:
			// The same answer whether or not the resource or prompt
			// exists: a denied caller learns nothing about it.
			return refuse(OutcomeDenied, fmt.Sprintf("%s %s is not allowed: %s (policy rule %s)", method, t.name, d.Reason, d.Rule))
		case d.Approval != "":
			// Reads have no plan/confirm round trip; a policy that wants a
			// person to approve this data means: not through this method.
			return refuse(OutcomeDenied, fmt.Sprintf("%s %s needs an approval (policy rule %s), which %s cannot ask for; use the server's tools",
				method, t.name, d.Approval, method))
		}
		if tp.HasLimits() {
			if e.checkLimits(ctx, st, tp, rec.principal, d, rec) != nil {
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: rec.errText}
			}
		}
		redact = redact || d.Redact
	}
	if method == "subscriptions/listen" {
		// The stream lasts as long as the client keeps it: the record is
		// written when it is accepted, not when it ends.
		rec.outcome = OutcomeOK
		submit()
	}
	res, err = next(ctx, method, req)
	if err == nil && redact {
		res = redactResult(st.eng, res)
	}
	return res, err
}

// record starts the audit record of a governed method other than
// tools/call; done finishes and submits it. The audit log's room is
// reserved first: a method it cannot record is not run.
func (e *Enforcer) record(ctx context.Context, method string, req mcp.Request, name string, args json.RawMessage) (*callRecord, func(mcp.Result, error), error) {
	start := e.now()
	rec := &callRecord{e: e, st: e.state.Load(), start: start, principal: authn.FromContext(ctx), method: methodIndex(method),
		tool: name, args: args, trace: trace.SpanContextFromContext(ctx).TraceID()}
	if ss, ok := req.GetSession().(*mcp.ServerSession); ok {
		rec.session = ss
	}
	aud := e.auditor.Load()
	if aud == nil {
		return nil, nil, errors.New("policy: the enforcer is not started")
	}
	if err := aud.Reserve(ctx); err != nil {
		e.metrics.auditRefused.Add(ctx, 1)
		return nil, nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "the audit log cannot take a record right now, so " + method + " was not run; retry in a few seconds"}
	}
	return rec, func(res mcp.Result, err error) {
		rec.finish(res, err, e.now().Sub(start))
		aud.Submit(rec)
	}, nil
}

// governTask decides tasks/get, tasks/update and tasks/cancel as uses of
// the tool the task runs, and audits each under its own name. A caller the
// policy no longer lets use that tool (a reload since the call) gets the
// same "unknown task" as for a task that is not its own. The task's result
// was redacted for its caller when it was stored, and polls are not
// counted against the tool's rate limits: the call that made the task was.
func (e *Enforcer) governTask(ctx context.Context, next mcp.MethodHandler, method string, req mcp.Request) (res mcp.Result, err error) {
	var p struct {
		TaskID string `json:"taskId"`
	}
	raw, _ := json.Marshal(req.GetParams())
	_ = json.Unmarshal(raw, &p)
	tool, ok := core.TaskTool(ctx, p.TaskID)
	if !ok {
		// Not a task of this caller: core answers, the same for everyone.
		return next(ctx, method, req)
	}
	args, _ := json.Marshal(map[string]string{"taskId": p.TaskID})
	rec, done, err := e.record(ctx, method, req, tool, args)
	if err != nil {
		return nil, err
	}
	defer func() { done(res, err) }()
	tp := rec.st.tools[tool]
	if tp == nil || !tp.Visible(rec.principal, rec.start).Visible {
		rec.decision, rec.decided = Decision{Rule: RuleTaskTool, Reason: "the caller may no longer use " + tool}, true
		rec.outcome = OutcomeDenied
		rec.st.opts.count(RuleTaskTool, false)
		return nil, core.UnknownTask(p.TaskID)
	}
	rec.decision, rec.decided = Decision{Allowed: true, Rule: RuleTaskTool, Reason: "the task's owner may use " + tool}, true
	rec.st.opts.count(RuleTaskTool, true)
	return next(ctx, method, req)
}

// redactResult masks sensitive values in the text of a resource, prompt
// or completion result. Shared values are copied, never modified.
func redactResult(eng *Engine, res mcp.Result) mcp.Result {
	r := eng.redactor
	switch x := res.(type) {
	case *mcp.ReadResourceResult:
		if x == nil {
			return res
		}
		out := *x
		out.Contents = make([]*mcp.ResourceContents, len(x.Contents))
		for i, c := range x.Contents {
			out.Contents[i] = redactContents(eng, c)
		}
		return &out
	case *mcp.GetPromptResult:
		if x == nil {
			return res
		}
		out := *x
		out.Description = r.Text(x.Description)
		out.Messages = make([]*mcp.PromptMessage, len(x.Messages))
		for i, m := range x.Messages {
			if m == nil {
				continue
			}
			m2 := *m
			m2.Content = redactContent(eng, m.Content)
			out.Messages[i] = &m2
		}
		return &out
	case *mcp.CompleteResult:
		if x == nil {
			return res
		}
		out := *x
		out.Completion.Values = make([]string, len(x.Completion.Values))
		for i, v := range x.Completion.Values {
			out.Completion.Values[i] = r.Text(v)
		}
		return &out
	}
	return res
}

func redactContents(eng *Engine, c *mcp.ResourceContents) *mcp.ResourceContents {
	if c == nil || c.Text == "" {
		return c
	}
	c2 := *c
	c2.Text = eng.redactor.Text(c.Text)
	return &c2
}

func redactContent(eng *Engine, c mcp.Content) mcp.Content {
	switch x := c.(type) {
	case *mcp.TextContent:
		if t, changed := eng.redactor.String(x.Text); changed {
			c2 := *x
			c2.Text = t
			return &c2
		}
	case *mcp.EmbeddedResource:
		if rc := redactContents(eng, x.Resource); rc != x.Resource {
			c2 := *x
			c2.Resource = rc
			return &c2
		}
	}
	return c
}

// filterList shows each caller only the resources, templates and prompts
// it may use; tools/list has its own filter (listTools).
func (e *Enforcer) filterList(ctx context.Context, next mcp.MethodHandler, method string, req mcp.Request) (mcp.Result, error) {
	res, err := next(ctx, method, req)
	if err != nil {
		return res, err
	}
	st := e.state.Load()
	p := authn.FromContext(ctx)
	now := e.now()
	visible := func(t target) bool {
		return st.eng.Feature(e.server, t.kind, e.spec(t)).Visible(p, now).Visible
	}
	switch lr := res.(type) {
	case *mcp.ListResourcesResult:
		out := *lr
		out.Resources = keep(lr.Resources, func(r *mcp.Resource) bool { return visible(target{KindResource, r.URI}) })
		out.CacheScope = "private"
		return &out, nil
	case *mcp.ListResourceTemplatesResult:
		out := *lr
		out.ResourceTemplates = keep(lr.ResourceTemplates, func(t *mcp.ResourceTemplate) bool {
			return visible(target{KindResource, t.URITemplate})
		})
		out.CacheScope = "private"
		return &out, nil
	case *mcp.ListPromptsResult:
		out := *lr
		out.Prompts = keep(lr.Prompts, func(p *mcp.Prompt) bool { return visible(target{KindPrompt, p.Name}) })
		out.CacheScope = "private"
		return &out, nil
	}
	// A list whose shape is unknown cannot be filtered: withhold it.
	return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: method + ": the policy cannot filter this result"}
}

// keep returns the items ok accepts, in a new slice.
func keep[T any](items []T, ok func(T) bool) []T {
	out := make([]T, 0, len(items))
	for _, it := range items {
		if ok(it) {
			out = append(out, it)
		}
	}
	return out
}
