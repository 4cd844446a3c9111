package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/policy/approval"
	"github.com/mcpfleet/mcpfleet/pkg/policy/audit"
	"github.com/mcpfleet/mcpfleet/pkg/policy/internal/canon"
	"github.com/mcpfleet/mcpfleet/pkg/policy/ratelimit"
)

// ConfirmationTokenArg is the reserved argument that carries a
// confirmation token. tools/list advertises it on tools that need
// approval; the policy layer removes it before the tool sees the
// arguments.
const ConfirmationTokenArg = "confirmation_token"

// MetaKey is the _meta key under which refusals and plans carry
// machine-readable details.
const MetaKey = "mcpfleet/policy"

// Audit outcomes.
const (
	OutcomeOK               = "ok"
	OutcomeToolError        = "tool_error"
	OutcomeProtocolError    = "protocol_error"
	OutcomeDenied           = "denied"
	OutcomeRateLimited      = "rate_limited"
	OutcomeApprovalRequired = "approval_required"
	OutcomeApprovalDeclined = "approval_declined"
	OutcomeApprovalRefused  = "approval_refused"
)

// Middleware returns the MCP middleware. One layer does authorization,
// rate limits, approvals, redaction and audit: the audit record needs the
// decision, and a call refused by the policy must still be audited, which
// two separate layers could only do by passing state through the context.
func (e *Enforcer) Middleware() mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			switch method {
			case "tools/call":
				if creq, ok := req.(*mcp.CallToolRequest); ok && creq.Params != nil {
					return e.callTool(ctx, next, creq)
				}
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "tools/call needs params"}
			case "tools/list":
				return e.listTools(ctx, next, method, req)
			}
			g, ok := Methods[method]
			switch {
			case !ok && !strings.HasPrefix(method, "notifications/"):
				// A method nobody classified may return data the policy
				// never decides: refuse it until it is governed.
				e.logger.WarnContext(ctx, "request for a method the policy does not govern refused", "method", method)
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: "method " + method + " is not available"}
			case g != Protocol:
				return e.govern(ctx, next, method, req, g)
			}
			return next(ctx, method, req)
		}
	}
}

func (e *Enforcer) callTool(ctx context.Context, next mcp.MethodHandler, req *mcp.CallToolRequest) (res mcp.Result, err error) {
	start := e.now()
	st := e.state.Load()
	rec := &callRecord{e: e, st: st, start: start, principal: authn.FromContext(ctx), session: req.Session,
		tool: req.Params.Name, args: req.Params.Arguments, trace: trace.SpanContextFromContext(ctx).TraceID()}
	aud := e.auditor.Load()
	if aud == nil {
		return nil, errors.New("policy: the enforcer is not started")
	}
	if err := aud.Reserve(ctx); err != nil {
		e.metrics.auditRefused.Add(ctx, 1)
		e.logger.WarnContext(ctx, "tool call refused: its audit record cannot be queued", "tool", rec.tool, "error", err.Error())
		return toolError("the audit log cannot take a record right now, so the call was not run; retry in a few seconds", nil), nil
	}
	defer func() {
		rec.finish(res, err, e.now().Sub(start))
		aud.Submit(rec)
	}()
	return e.handleCall(ctx, next, req, st, rec)
}

func (e *Enforcer) handleCall(ctx context.Context, next mcp.MethodHandler, req *mcp.CallToolRequest, st *state, rec *callRecord) (mcp.Result, error) {
	tp := st.tools[rec.tool]
	if tp == nil {
		rec.decision = Decision{Rule: RuleUnknownTool, Reason: "the server has no tool of that name",
			roles: st.eng.roleSetOf(rec.principal, rec.start)}
		rec.decided, rec.outcome, rec.errText = true, OutcomeProtocolError, fmt.Sprintf("unknown tool %q", rec.tool)
		st.opts.count(RuleUnknownTool, false)
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown tool %q", rec.tool)}
	}
	p := rec.principal
	args := req.Params.Arguments
	// The confirmation token is not an argument of the tool: take it out
	// before anything looks at the arguments.
	stripped, tokenRaw, hasToken, err := canon.Without(args, ConfirmationTokenArg)
	if err != nil {
		return toolError("invalid arguments: "+err.Error(), nil), nil
	}
	rec.args = stripped

	d := tp.Decide(p, stripped, rec.start)
	rec.decision, rec.decided = d, true
	st.opts.count(d.Rule, d.Allowed)
	if !d.Allowed {
		rec.outcome = OutcomeDenied
		if !tp.Visible(p, rec.start).Visible {
			// The caller cannot see the tool in tools/list: it does not
			// exist for it, and the answer must not differ from the one
			// for a name no tool has, or denials would enumerate hidden
			// tools. The audit record still says denied, and why.
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown tool %q", rec.tool)}
		}
		return toolError(fmt.Sprintf("%s is not allowed: %s (policy rule %s)", rec.tool, d.Reason, d.Rule),
			map[string]any{"decision": "deny", "rule": d.Rule, "reason": d.Reason}), nil
	}
	if tp.HasLimits() {
		if res := e.checkLimits(ctx, st, tp, p, d, rec); res != nil {
			return res, nil
		}
	}
	runArgs := args
	if d.Approval != "" {
		res, ok := e.approve(ctx, req, tp, d, rec, stripped, tokenRaw, hasToken)
		if !ok {
			return res, nil
		}
		runArgs = stripped
	} else if hasToken {
		// A token on a call that needs none: drop it so the tool's strict
		// schema does not refuse the call for it.
		runArgs = stripped
	}
	if hasToken {
		params := *req.Params
		params.Arguments = runArgs
		r2 := *req
		r2.Params = &params
		req = &r2
	}
	if d.Redact {
		// A call that becomes a task answers later, through tasks/get:
		// its stored result is redacted the same way.
		ctx = core.WithResultFilter(ctx, func(r mcp.Result) mcp.Result { return redactCallResult(st.eng, r) })
	}
	res, err := next(ctx, "tools/call", req)
	if err == nil && d.Redact {
		res = redactCallResult(st.eng, res)
	}
	return res, err
}

// checkLimits takes a token from every bucket the call must pass; it
// returns the refusal, or nil.
func (e *Enforcer) checkLimits(ctx context.Context, st *state, tp *ToolPolicy, p *authn.Principal, d Decision, rec *callRecord) *mcp.CallToolResult {
	var buf [4]LimitCheck
	for _, c := range tp.Limits(buf[:0], p, d) {
		res, err := e.limiter.Allow(ctx, c.Bucket, ratelimit.Limit{Count: c.Count, Period: c.Period, Burst: c.Burst})
		if err != nil {
			failOpen := e.cfg.RateLimit.FailOpen
			e.metrics.limiterErrors.Add(ctx, 1, metric.WithAttributes(attribute.Bool("fail_open", failOpen)))
			// One line per second at most: an outage must not flood the log.
			if now := e.now().Unix(); e.limiterLog.Swap(now) != now {
				e.logger.WarnContext(ctx, "rate-limit backend unavailable", "error", err.Error(), "fail_open", failOpen)
			}
			if failOpen {
				continue
			}
			rec.outcome, rec.errText = OutcomeRateLimited, "rate-limit backend unavailable (fail closed)"
			return toolError("rate limiting is unavailable and this server fails closed; retry after 1 second",
				map[string]any{"limit": c.ID, "retry_after_ms": 1000})
		}
		if !res.Allowed {
			secs := int(math.Ceil(res.RetryAfter.Seconds()))
			secs = max(secs, 1)
			e.metrics.rateLimited.Add(ctx, 1, st.opts.limits[c.ID]...)
			msg := fmt.Sprintf("rate limit %s exceeded for %s; retry after %d seconds", c.ID, rec.tool, secs)
			rec.outcome, rec.errText = OutcomeRateLimited, msg
			return toolError(msg, map[string]any{"limit": c.ID, "retry_after_ms": res.RetryAfter.Milliseconds()})
		}
	}
	return nil
}

// approve handles a call that needs approval: redeem its token, ask the
// user, or return a plan with a new token. ok reports whether the call may
// run.
func (e *Enforcer) approve(ctx context.Context, req *mcp.CallToolRequest, tp *ToolPolicy, d Decision, rec *callRecord,
	stripped, tokenRaw json.RawMessage, hasToken bool) (res *mcp.CallToolResult, ok bool) {
	refuse := func(approvalState, outcome, msg string) (*mcp.CallToolResult, bool) {
		rec.approval, rec.outcome, rec.errText = approvalState, outcome, msg
		e.metrics.approvals.Add(ctx, 1, metric.WithAttributes(attribute.String("result", approvalState)))
		return toolError(msg, map[string]any{"approval": approvalState, "rule": d.Approval}), false
	}
	digest, err := canon.Digest(stripped, nil)
	if err != nil {
		return toolError("invalid arguments: "+err.Error(), nil), false
	}
	binding := approval.Binding{Principal: rec.principal.ID(), Server: e.server, Tool: rec.tool, ArgsDigest: digest}
	if hasToken {
		var token string
		if err := json.Unmarshal(tokenRaw, &token); err != nil {
			return refuse("refused", OutcomeApprovalRefused, "confirmation_token must be a string; call "+rec.tool+
				" again without it to get a new confirmation token")
		}
		if err := e.signer.Redeem(ctx, token, binding); err != nil {
			return refuse("refused", OutcomeApprovalRefused, fmt.Sprintf("confirmation refused: %v; call %s again without %s to get a new plan",
				err, rec.tool, ConfirmationTokenArg))
		}
		rec.approval = "confirmed"
		e.metrics.approvals.Add(ctx, 1, metric.WithAttributes(attribute.String("result", "confirmed")))
		return nil, true
	}
	spec := tp.Spec()
	argsText, _ := canon.JSON(stripped, nil)
	question := &mcp.ElicitParams{
		Message: fmt.Sprintf("Approve %s (%s) with arguments %s? Policy rule %s requires your approval.",
			spec.Name, spec.Title, argsText, d.Approval),
		RequestedSchema: approvalSchema,
	}
	switch e.elicitMode(ctx, req) {
	case elicitInputRequest:
		return e.approveByInputRequest(ctx, req, rec, binding, question, refuse)
	case elicitDirect:
		answer, err := req.Session.Elicit(ctx, question)
		if err == nil {
			if approved(answer) {
				rec.approval = "elicited"
				e.metrics.approvals.Add(ctx, 1, metric.WithAttributes(attribute.String("result", "elicited")))
				return nil, true
			}
			return refuse("declined", OutcomeApprovalDeclined, fmt.Sprintf("the user did not approve %s (%s); nothing was changed",
				rec.tool, answer.Action))
		}
		e.logger.InfoContext(ctx, "elicitation failed; falling back to plan/confirm", "tool", rec.tool, "error", err.Error())
	}
	token, exp, err := e.signer.Issue(binding)
	if err != nil {
		return refuse("refused", OutcomeApprovalRefused, "a confirmation token could not be issued; retry in a few seconds")
	}
	rec.approval, rec.outcome = "required", OutcomeApprovalRequired
	e.metrics.approvals.Add(ctx, 1, metric.WithAttributes(attribute.String("result", "required")))
	text := fmt.Sprintf("Confirmation required; nothing was changed. %s (%s) is a %s tool and policy rule %s requires approval. "+
		"It would run with these arguments: %s. To proceed, call %s again with exactly the same arguments plus "+
		"%q: %q. The token works once, only for you, until %s.",
		spec.Name, spec.Title, spec.Effect, d.Approval, argsText, spec.Name, ConfirmationTokenArg, token, exp.UTC().Format(time.RFC3339))
	res = toolError(text, map[string]any{"approval": "required", "rule": d.Approval, ConfirmationTokenArg: token,
		"expires_at": exp.UTC().Format(time.RFC3339), "tool": spec.Name, "arguments": json.RawMessage(argsText)})
	return res, false
}

var approvalSchema = &jsonschema.Schema{
	Type: "object",
	Properties: map[string]*jsonschema.Schema{
		"approve": {Type: "boolean", Title: "Approve", Description: "Run the action now"},
	},
	Required: []string{"approve"},
}

// approvalInput is the id of the approval question in an input-required
// result.
const approvalInput = "mcpfleet_approval"

// multiRoundTripVersion is the first protocol version in which a server
// asks the client for input by returning an input-required result
// (SEP-2322) instead of sending a request in the middle of a call.
const multiRoundTripVersion = "2026-07-28"

type elicitMode int

const (
	elicitNone elicitMode = iota
	// elicitInputRequest returns the question in an input-required result;
	// the client retries with the answer. Works without sessions.
	elicitInputRequest
	// elicitDirect sends elicitation/create during the call (older
	// protocol versions, stateful sessions only).
	elicitDirect
)

// elicitMode says how, if at all, the user can be asked: the client must
// have declared elicitation, and a mid-call request needs a session to
// travel on (stateless requests have none: core.ClientReachable).
func (e *Enforcer) elicitMode(ctx context.Context, req *mcp.CallToolRequest) elicitMode {
	if !e.cfg.Approval.Elicitation {
		return elicitNone
	}
	caps := req.ClientCapabilities()
	if caps == nil || caps.Elicitation == nil {
		return elicitNone
	}
	if req.ProtocolVersion() >= multiRoundTripVersion {
		return elicitInputRequest
	}
	if e.elicit && req.Session != nil && core.ClientReachable(ctx) {
		return elicitDirect
	}
	return elicitNone
}

// approveByInputRequest asks the question in an input-required result
// whose request state is a confirmation token bound to the call; the
// client's retry carries the answer and the token, which is redeemed
// once. Nothing is kept on the server, so any replica can take the retry.
func (e *Enforcer) approveByInputRequest(ctx context.Context, req *mcp.CallToolRequest, rec *callRecord, binding approval.Binding,
	question *mcp.ElicitParams, refuse func(string, string, string) (*mcp.CallToolResult, bool)) (*mcp.CallToolResult, bool) {
	if answer, ok := req.Params.InputResponses[approvalInput]; ok {
		if err := e.signer.Redeem(ctx, req.Params.RequestState, binding); err != nil {
			return refuse("refused", OutcomeApprovalRefused, fmt.Sprintf("the approval answer cannot be used: %v; call %s again", err, rec.tool))
		}
		if er, _ := answer.(*mcp.ElicitResult); er != nil && approved(er) {
			rec.approval = "elicited"
			e.metrics.approvals.Add(ctx, 1, metric.WithAttributes(attribute.String("result", "elicited")))
			return nil, true
		}
		return refuse("declined", OutcomeApprovalDeclined, fmt.Sprintf("the user did not approve %s; nothing was changed", rec.tool))
	}
	token, _, err := e.signer.Issue(binding)
	if err != nil {
		return refuse("refused", OutcomeApprovalRefused, "an approval could not be requested; retry in a few seconds")
	}
	rec.approval, rec.outcome = "requested", OutcomeApprovalRequired
	e.metrics.approvals.Add(ctx, 1, metric.WithAttributes(attribute.String("result", "requested")))
	return inputRequired(mcp.InputRequestMap{approvalInput: question}, token), false
}

func approved(r *mcp.ElicitResult) bool { return r.Action == "accept" && r.Content["approve"] == true }

// inputRequired builds an input-required result. go-sdk sets a result's
// type only inside its own dispatch, after receiving middleware has run,
// and keeps the field unexported; its JSON form is the one exported way
// to set it.
func inputRequired(reqs mcp.InputRequestMap, state string) *mcp.CallToolResult {
	var res mcp.CallToolResult
	if err := json.Unmarshal([]byte(`{"resultType":"input_required"}`), &res); err != nil {
		panic("policy: building an input-required result: " + err.Error())
	}
	res.Content = nil
	res.InputRequests, res.RequestState = reqs, state
	return &res
}

// toolError is a tool error (isError) with a message and optional
// machine-readable details under _meta.
func toolError(msg string, meta map[string]any) *mcp.CallToolResult {
	res := &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}
	if meta != nil {
		res.Meta = mcp.Meta{MetaKey: meta}
	}
	return res
}

// listTools shows each caller only the tools it may call, and advertises
// the confirmation token on tools that may need approval.
func (e *Enforcer) listTools(ctx context.Context, next mcp.MethodHandler, method string, req mcp.Request) (mcp.Result, error) {
	res, err := next(ctx, method, req)
	lr, ok := res.(*mcp.ListToolsResult)
	if err != nil || !ok {
		return res, err
	}
	st := e.state.Load()
	p := authn.FromContext(ctx)
	now := e.now()
	out := make([]*mcp.Tool, 0, len(lr.Tools))
	for _, t := range lr.Tools {
		tp := st.tools[t.Name]
		if tp == nil {
			continue
		}
		v := tp.Visible(p, now)
		if !v.Visible {
			continue
		}
		if v.Approval {
			t = withConfirmationToken(t)
		}
		out = append(out, t)
	}
	filtered := *lr
	filtered.Tools = out
	// The list depends on the caller: no shared cache may keep it.
	filtered.CacheScope = "private"
	return &filtered, nil
}

var tokenProperty = &jsonschema.Schema{
	Type: "string",
	Description: "Only after a call returned a confirmation token: pass it here, with the same arguments, " +
		"to confirm and run the action.",
}

// withConfirmationToken returns a copy of t whose input schema has the
// optional confirmation_token property; t itself is shared and unchanged.
func withConfirmationToken(t *mcp.Tool) *mcp.Tool {
	c := *t
	schema := t.InputSchema
	if raw, ok := schema.(json.RawMessage); ok {
		// core hands go-sdk schemas encoded once.
		var m map[string]any
		if json.Unmarshal(raw, &m) == nil {
			schema = m
		}
	}
	switch s := schema.(type) {
	case *jsonschema.Schema:
		s2 := *s
		s2.Properties = maps.Clone(s.Properties)
		if s2.Properties == nil {
			s2.Properties = map[string]*jsonschema.Schema{}
		}
		s2.Properties[ConfirmationTokenArg] = tokenProperty
		c.InputSchema = &s2
	case map[string]any:
		s2 := maps.Clone(s)
		props, _ := s["properties"].(map[string]any)
		props = maps.Clone(props)
		if props == nil {
			props = map[string]any{}
		}
		props[ConfirmationTokenArg] = map[string]any{"type": "string", "description": tokenProperty.Description}
		s2["properties"] = props
		c.InputSchema = s2
	}
	return &c
}

// redactCallResult masks sensitive values in a result's text and
// structured content. Content blocks may be shared by the tool, so changed
// blocks are replaced, never modified.
func redactCallResult(eng *Engine, res mcp.Result) mcp.Result {
	cr, ok := res.(*mcp.CallToolResult)
	if !ok || cr == nil {
		return res
	}
	r := eng.redactor
	out := *cr
	out.Content = make([]mcp.Content, len(cr.Content))
	for i, c := range cr.Content {
		switch x := c.(type) {
		case *mcp.TextContent:
			if t, changed := r.String(x.Text); changed {
				c2 := *x
				c2.Text = t
				c = &c2
			}
		case *mcp.EmbeddedResource:
			if x.Resource != nil && x.Resource.Text != "" {
				if t, changed := r.String(x.Resource.Text); changed {
					rc := *x.Resource
					rc.Text = t
					c2 := *x
					c2.Resource = &rc
					c = &c2
				}
			}
		}
		out.Content[i] = c
	}
	if cr.StructuredContent != nil {
		var raw []byte
		switch sc := cr.StructuredContent.(type) {
		case json.RawMessage:
			raw = sc
		case []byte:
			raw = sc
		default:
			raw, _ = json.Marshal(sc)
		}
		if red, changed, err := r.JSON(raw); err != nil {
			// Content that cannot be parsed cannot be checked: withhold it.
			out.StructuredContent = nil
		} else if changed {
			out.StructuredContent = json.RawMessage(red)
		}
	}
	return &out
}

// callRecord is the audit record of one call; the expensive parts are
// built by the audit writer, not on the request path.
type callRecord struct {
	e         *Enforcer
	st        *state
	start     time.Time
	principal *authn.Principal
	session   *mcp.ServerSession
	tool      string
	args      json.RawMessage
	trace     trace.TraceID

	decision Decision
	decided  bool
	// method indexes recordMethods: the MCP method (0: tools/call). An
	// index rather than a string keeps the per-call record as small as
	// before non-tool methods were audited.
	method   uint8
	approval string
	outcome  string
	errText  string
	latency  time.Duration

	once sync.Once
	rec  audit.Record
}

// finish records the outcome of the call.
func (c *callRecord) finish(res mcp.Result, err error, latency time.Duration) {
	c.latency = latency
	if c.outcome != "" {
		return
	}
	switch {
	case err != nil:
		c.outcome, c.errText = OutcomeProtocolError, err.Error()
	case res == nil:
		c.outcome = OutcomeProtocolError
	default:
		c.outcome = OutcomeOK
		if cr, ok := res.(*mcp.CallToolResult); ok && cr.IsError {
			c.outcome = OutcomeToolError
			for _, ct := range cr.Content {
				if t, ok := ct.(*mcp.TextContent); ok {
					c.errText = t.Text
					break
				}
			}
		}
	}
}

// maxAuditErrorLen caps the error text kept in a record.
const maxAuditErrorLen = 512

// AuditRecord implements audit.Source.
func (c *callRecord) AuditRecord() audit.Record {
	c.once.Do(c.build)
	return c.rec
}

func (c *callRecord) build() {
	eng := c.st.eng
	r := audit.Record{
		Time:      c.start,
		Server:    c.e.server,
		Principal: c.principal.ID(),
		Method:    recordMethods[c.method],
		Tool:      c.tool,
		Rule:      c.decision.Rule,
		Reason:    c.decision.Reason,
		Approval:  c.approval,
		Outcome:   c.outcome,
		LatencyUS: c.latency.Microseconds(),
		Policy:    c.st.doc.Hash(),
		Decision:  "deny",
	}
	if c.decision.Allowed {
		r.Decision = "allow"
	}
	if r.Principal == "" {
		r.Principal = "(none)"
	}
	r.Roles = eng.DecisionRoles(c.decision)
	if c.principal != nil && c.principal.ClientID != "" {
		r.Client = c.principal.ClientID
	} else if c.session != nil {
		if ip := c.session.InitializeParams(); ip != nil && ip.ClientInfo != nil {
			r.Client = strings.TrimSuffix(ip.ClientInfo.Name+"/"+ip.ClientInfo.Version, "/")
		}
	}
	if d, err := canon.Digest(c.args, eng.redactor.Text); err == nil {
		r.ArgsDigest = d
	} else {
		r.ArgsDigest = "invalid-json"
	}
	if c.errText != "" {
		msg := eng.redactor.Text(c.errText)
		if len(msg) > maxAuditErrorLen {
			msg = msg[:maxAuditErrorLen] + "..."
		}
		r.Error = msg
	}
	if c.trace.IsValid() {
		r.TraceID = c.trace.String()
	}
	c.rec = r
}
