package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/policy/ratelimit"
	"github.com/mcpfleet/mcpfleet/pkg/policy/redact"
)

// Built-in rule ids that appear in decisions beside the document's own.
const (
	// RuleDefault is the document's default decision.
	RuleDefault = "default"
	// RuleUnauthenticated denies a call that carries no principal.
	RuleUnauthenticated = "builtin:unauthenticated"
	// RuleUnknownTool denies a call to a tool the server does not expose.
	RuleUnknownTool = "builtin:unknown_tool"
	// RuleTaskTool decides a task method (tasks/get, tasks/update,
	// tasks/cancel) by whether the caller may still use the task's tool.
	RuleTaskTool = "builtin:task_tool"
	// RuleApproveDestructive requires approval for destructive tools
	// (approvals.destructive).
	RuleApproveDestructive = "approvals.destructive"
)

// Input is one call to decide.
type Input struct {
	Principal *authn.Principal
	// Server is the server the tool belongs to (config server.name).
	Server string
	Tool   core.ToolSpec
	// Args are the call's raw JSON arguments; decoded only when a
	// condition refers to them.
	Args json.RawMessage
	// Time is when the call happens; now when zero.
	Time time.Time
	// Kind is what Tool describes: a tool (the zero value), a resource
	// (Tool.Name is its URI or URI template) or a prompt.
	Kind Kind
}

// Decision is the outcome of a policy decision. Every decision names the
// rule that made it and a reason.
type Decision struct {
	Allowed bool
	// Rule is the id of the deciding rule: a document rule, "default", or
	// a "builtin:" rule.
	Rule   string
	Reason string
	// Approval is the id of the rule that requires a confirmation before
	// the call runs ("approvals.destructive" for the document-wide
	// setting); empty when none is needed.
	Approval string
	// Redact is set when the caller's clearance is below the tool's
	// classification: results must be redacted.
	Redact bool
	// Clearance is the caller's clearance.
	Clearance core.Classification

	roles roleSet
}

// Engine decides calls under one policy document. It is immutable apart
// from an internal cache and safe for concurrent use.
type Engine struct {
	doc                *Document
	roles              []*compiledRole
	roleNames          []string
	rules              []*compiledRule
	limits             []*compiledLimit
	redactor           *redact.Redactor
	defaultAllow       bool
	defaultClearance   int
	approveDestructive bool

	mu    sync.RWMutex
	tools map[toolKey]*ToolPolicy
}

type toolKey struct {
	kind                  Kind
	server, name, toolset string
	effect                core.Effect
	idempotent, openWorld core.Hint
	class                 core.Classification
}

// maxCachedTools bounds the engine's per-tool cache.
const maxCachedTools = 10_000

type ruleKind uint8

const (
	kindAllow ruleKind = iota
	kindDeny
	kindApproval
)

type compiledTarget struct {
	// kinds is a bitmask of the kinds the target selects; 0 selects all.
	kinds Kind
	// named is set when tools, resources or prompts lists names: the
	// target then selects only features of the kinds it names.
	named     bool
	resources patterns
	prompts   patterns
	anyRole   bool
	roles     roleSet
	servers   patterns
	toolsets  patterns
	tools     patterns
	ann       Annotations
	// classes is a bitmask of classification levels; 0 matches any.
	classes uint8
}

type compiledRule struct {
	id, description string
	kind            ruleKind
	target          compiledTarget
	cond            *condition
	reason          string // what the caller is told
	condErrReason   string
}

type compiledLimit struct {
	id          string
	description string
	// bucket names the limit's buckets: the id plus a fingerprint of its
	// definition, so a limit changed by a reload starts with fresh buckets.
	bucket string
	count  int
	period time.Duration
	burst  int
	per    perFlags
	target compiledTarget
}

type perFlags struct{ principal, role, tool, server bool }

// NewEngine compiles doc. A document from Parse or Load was compiled as it
// was checked and its engine is reused: like its hash, it describes the
// document as parsed, so edit the text, not a parsed Document.
func NewEngine(doc *Document) (*Engine, error) {
	if doc == nil {
		return nil, errors.New("policy: nil document")
	}
	if doc.engine != nil {
		return doc.engine, nil // compiled when it was parsed
	}
	return compile(doc)
}

func compile(doc *Document) (*Engine, error) {
	envs := &celEnvs{}
	e := &Engine{doc: doc, tools: map[toolKey]*ToolPolicy{}}
	var errs []string
	add := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }

	if doc.Version != FormatVersion {
		add("version %d is not supported (this build reads version %d)", doc.Version, FormatVersion)
	}
	switch doc.Default {
	case EffectAllow:
		e.defaultAllow = true
	case EffectDeny:
	default:
		add("default must be allow or deny, not %q", doc.Default)
	}
	e.defaultClearance = core.Public.Level()
	if doc.DefaultClearance != "" {
		if e.defaultClearance = core.Classification(doc.DefaultClearance).Level(); e.defaultClearance == 0 {
			add("default_clearance %q is not public, internal, confidential or restricted", doc.DefaultClearance)
		}
	}
	e.approveDestructive = doc.Approvals.Destructive == nil || *doc.Approvals.Destructive

	roleIndex := map[string]int{}
	if len(doc.Roles) > maxRoles {
		add("roles: %d roles declared; at most %d are supported", len(doc.Roles), maxRoles)
	}
	for i, r := range doc.Roles {
		if i >= maxRoles {
			break
		}
		where := fmt.Sprintf("roles[%d] (%s)", i, r.Name)
		if r.Name == "" || r.Name == "*" {
			add("roles[%d]: name %q is not allowed", i, r.Name)
		}
		if _, dup := roleIndex[r.Name]; dup {
			add("%s: role is declared twice", where)
		}
		roleIndex[r.Name] = i
		cr := &compiledRole{name: r.Name}
		if r.Clearance != "" {
			if cr.clearance = core.Classification(r.Clearance).Level(); cr.clearance == 0 {
				add("%s: clearance %q is not public, internal, confidential or restricted", where, r.Clearance)
			}
		}
		if len(r.Members) == 0 {
			add("%s: members is empty", where)
		}
		for j, m := range r.Members {
			cm, merrs := compileMember(envs, m)
			for _, me := range merrs {
				add("%s members[%d]: %s", where, j, me)
			}
			cr.members = append(cr.members, cm)
		}
		e.roles = append(e.roles, cr)
		e.roleNames = append(e.roleNames, r.Name)
	}

	ruleIDs := map[string]bool{}
	for i, r := range doc.Rules {
		where := fmt.Sprintf("rules[%d] (%s)", i, r.ID)
		if r.ID == "" {
			add("rules[%d]: id is empty", i)
		}
		if ruleIDs[r.ID] {
			add("%s: id is used twice", where)
		}
		if r.ID == RuleDefault || strings.HasPrefix(r.ID, "builtin:") || r.ID == RuleApproveDestructive {
			add("%s: id %q is reserved", where, r.ID)
		}
		ruleIDs[r.ID] = true
		cr := &compiledRule{id: r.ID, description: r.Description}
		switch r.Effect {
		case EffectAllow:
			cr.kind = kindAllow
		case EffectDeny:
			cr.kind = kindDeny
		case EffectRequireApproval:
			cr.kind = kindApproval
		default:
			add("%s: effect %q is not allow, deny or require_approval", where, r.Effect)
		}
		t, terrs := compileTarget(r.Target, roleIndex)
		for _, te := range terrs {
			add("%s: %s", where, te)
		}
		cr.target = t
		if r.Condition != "" {
			if err := envs.ready(); err != nil {
				return nil, err
			}
			c, err := compileCondition(envs.rule, envs.noArgs, r.Condition)
			if err != nil {
				add("%s: %v", where, err)
			}
			cr.cond = c
		}
		cr.reason = r.Reason
		if cr.reason == "" {
			switch cr.kind {
			case kindDeny:
				cr.reason = "denied by policy rule " + r.ID
			case kindAllow:
				cr.reason = "allowed by policy rule " + r.ID
			case kindApproval:
				cr.reason = "policy rule " + r.ID + " requires a confirmation"
			}
			if r.Description != "" {
				cr.reason += ": " + r.Description
			}
		}
		cr.condErrReason = "policy rule " + r.ID + " could not evaluate its condition; the call is denied to be safe"
		e.rules = append(e.rules, cr)
	}

	limitIDs := map[string]bool{}
	for i, l := range doc.RateLimits {
		where := fmt.Sprintf("rate_limits[%d] (%s)", i, l.ID)
		if l.ID == "" {
			add("rate_limits[%d]: id is empty", i)
		}
		if limitIDs[l.ID] {
			add("%s: id is used twice", where)
		}
		limitIDs[l.ID] = true
		cl := &compiledLimit{id: l.ID, description: l.Description}
		count, period, err := parseRate(l.Rate)
		if err != nil {
			add("%s: %v", where, err)
		}
		cl.count, cl.period, cl.burst = count, period, l.Burst
		if cl.burst == 0 {
			cl.burst = count
		}
		if l.Burst < 0 {
			add("%s: burst must be positive", where)
		}
		seen := map[string]bool{}
		for _, p := range l.Per {
			if seen[p] {
				add("%s: per lists %q twice", where, p)
			}
			seen[p] = true
			switch p {
			case "principal":
				cl.per.principal = true
			case "role":
				cl.per.role = true
			case "tool":
				cl.per.tool = true
			case "server":
				cl.per.server = true
			default:
				add("%s: per %q is not principal, role, tool or server", where, p)
			}
		}
		t, terrs := compileTarget(l.Target, roleIndex)
		for _, te := range terrs {
			add("%s: %s", where, te)
		}
		cl.target = t
		sum := sha256.Sum256(fmt.Appendf(nil, "%s|%d|%s|%d|%v", l.ID, count, period, cl.burst, l.Per))
		cl.bucket = l.ID + "#" + hex.EncodeToString(sum[:4])
		e.limits = append(e.limits, cl)
	}

	patterns := make([]redact.Pattern, len(doc.Redaction.Patterns))
	for i, p := range doc.Redaction.Patterns {
		patterns[i] = redact.Pattern{Name: p.Name, Regex: p.Regex, Replacement: p.Replacement}
	}
	var err error
	if e.redactor, err = redact.New(doc.Redaction.DisabledDetectors, patterns); err != nil {
		add("%v", err)
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Problems: errs}
	}
	return e, nil
}

// ValidationError lists every problem found in a document.
type ValidationError struct{ Problems []string }

func (v *ValidationError) Error() string {
	if len(v.Problems) == 1 {
		return v.Problems[0]
	}
	return fmt.Sprintf("%d problems: %s", len(v.Problems), strings.Join(v.Problems, "; "))
}

func compileTarget(t Target, roleIndex map[string]int) (compiledTarget, []string) {
	var errs []string
	ct := compiledTarget{ann: t.Annotations}
	if len(t.Roles) == 0 {
		ct.anyRole = true
	}
	for _, r := range t.Roles {
		if r == "*" {
			ct.anyRole = true
			continue
		}
		i, ok := roleIndex[r]
		if !ok {
			errs = append(errs, fmt.Sprintf("roles: role %q is not declared", r))
			continue
		}
		ct.roles.add(i)
	}
	var err error
	if ct.servers, err = compilePatterns(t.Servers); err != nil {
		errs = append(errs, "servers: "+err.Error())
	}
	if ct.toolsets, err = compilePatterns(t.Toolsets); err != nil {
		errs = append(errs, "toolsets: "+err.Error())
	}
	if ct.tools, err = compilePatterns(t.Tools); err != nil {
		errs = append(errs, "tools: "+err.Error())
	}
	if ct.resources, err = compilePatterns(t.Resources); err != nil {
		errs = append(errs, "resources: "+err.Error())
	}
	if ct.prompts, err = compilePatterns(t.Prompts); err != nil {
		errs = append(errs, "prompts: "+err.Error())
	}
	ct.named = len(t.Tools)+len(t.Resources)+len(t.Prompts) > 0
	for _, k := range t.Kinds {
		kind, ok := kindNames[k]
		if !ok {
			errs = append(errs, fmt.Sprintf("kinds: %q is not tool, resource or prompt", k))
			continue
		}
		ct.kinds |= kind
	}
	for _, c := range t.Classifications {
		lvl := core.Classification(c).Level()
		if lvl == 0 {
			errs = append(errs, fmt.Sprintf("classifications: %q is not public, internal, confidential or restricted", c))
			continue
		}
		ct.classes |= 1 << lvl
	}
	return ct, errs
}

// matchesTool reports whether the target's feature-side fields select the
// tool, resource or prompt.
func (t *compiledTarget) matchesTool(server string, kind Kind, s *core.ToolSpec) bool {
	return t.whyNotTool(server, kind, s) == ""
}

// whyNotTool explains why the feature is not selected, or returns "".
func (t *compiledTarget) whyNotTool(server string, kind Kind, s *core.ToolSpec) string {
	if kind == 0 {
		kind = KindTool
	}
	if t.kinds != 0 && t.kinds&kind == 0 {
		return fmt.Sprintf("kind %s is not one of the rule's kinds", kind)
	}
	if t.named {
		var names patterns
		switch kind {
		case KindResource:
			names = t.resources
		case KindPrompt:
			names = t.prompts
		default:
			names = t.tools
		}
		if len(names) == 0 {
			return fmt.Sprintf("the rule names no %ss", kind)
		}
		if !names.match(s.Name) {
			return fmt.Sprintf("%s %q is not in %ss %s", kind, s.Name, kind, names)
		}
	}
	switch {
	case !t.servers.match(server):
		return fmt.Sprintf("server %q is not in servers %s", server, t.servers)
	case !t.toolsets.match(s.Toolset):
		return fmt.Sprintf("toolset %q is not in toolsets %s", s.Toolset, t.toolsets)
	case t.ann.ReadOnly != nil && *t.ann.ReadOnly != (s.Effect == core.ReadOnly):
		return fmt.Sprintf("annotation read_only is %v, the rule wants %v", s.Effect == core.ReadOnly, *t.ann.ReadOnly)
	case t.ann.Destructive != nil && *t.ann.Destructive != (s.Effect == core.Destructive):
		return fmt.Sprintf("annotation destructive is %v, the rule wants %v", s.Effect == core.Destructive, *t.ann.Destructive)
	case t.ann.Idempotent != nil && *t.ann.Idempotent != (s.Idempotent == core.Yes):
		return fmt.Sprintf("annotation idempotent is %v, the rule wants %v", s.Idempotent == core.Yes, *t.ann.Idempotent)
	case t.ann.OpenWorld != nil && *t.ann.OpenWorld != (s.OpenWorld == core.Yes):
		return fmt.Sprintf("annotation open_world is %v, the rule wants %v", s.OpenWorld == core.Yes, *t.ann.OpenWorld)
	case t.classes != 0 && t.classes&(1<<s.Classification.Level()) == 0:
		return fmt.Sprintf("classification %q is not one of the rule's classifications", s.Classification)
	}
	return ""
}

func (t *compiledTarget) appliesTo(roles roleSet) bool { return t.anyRole || t.roles.intersects(roles) }

// Document returns the engine's document.
func (e *Engine) Document() *Document { return e.doc }

// Redactor returns the document's redactor.
func (e *Engine) Redactor() *redact.Redactor { return e.redactor }

// ToolPolicy is the part of a policy that concerns one tool on one server:
// the rules and limits that can select it, precompiled so that a decision
// only checks roles and conditions.
type ToolPolicy struct {
	eng       *Engine
	server    string
	kind      Kind
	spec      core.ToolSpec
	level     int
	denies    []*compiledRule
	approvals []*compiledRule
	allows    []*compiledRule
	limits    []*compiledLimit
	// destructive is set when approvals.destructive applies to this tool.
	destructive bool
	defaultDeny string
}

// Tool returns the precompiled policy for a tool, from a cache.
func (e *Engine) Tool(server string, spec core.ToolSpec) *ToolPolicy {
	return e.Feature(server, KindTool, spec)
}

// Feature returns the precompiled policy for a tool, resource or prompt
// (spec.Name is the resource URI or the prompt name), from a cache.
func (e *Engine) Feature(server string, kind Kind, spec core.ToolSpec) *ToolPolicy {
	k := toolKey{kind: kind, server: server, name: spec.Name, toolset: spec.Toolset, effect: spec.Effect,
		idempotent: spec.Idempotent, openWorld: spec.OpenWorld, class: spec.Classification}
	e.mu.RLock()
	tp, ok := e.tools[k]
	e.mu.RUnlock()
	if ok {
		return tp
	}
	tp = e.CompileFeature(server, kind, spec)
	e.mu.Lock()
	if len(e.tools) < maxCachedTools {
		e.tools[k] = tp
	}
	e.mu.Unlock()
	return tp
}

// CompileTool selects the rules and limits whose tool-side fields match
// the tool. Servers call it once per tool at load.
func (e *Engine) CompileTool(server string, spec core.ToolSpec) *ToolPolicy {
	return e.CompileFeature(server, KindTool, spec)
}

// CompileFeature is CompileTool for any kind of feature.
func (e *Engine) CompileFeature(server string, kind Kind, spec core.ToolSpec) *ToolPolicy {
	if kind == 0 {
		kind = KindTool
	}
	tp := &ToolPolicy{eng: e, server: server, kind: kind, spec: spec, level: spec.Classification.Level(),
		destructive: e.approveDestructive && spec.Effect == core.Destructive,
		defaultDeny: "no policy rule allows " + kind.String() + " " + spec.Name + " for this caller (default: deny)"}
	for _, r := range e.rules {
		if !r.target.matchesTool(server, kind, &spec) {
			continue
		}
		switch r.kind {
		case kindDeny:
			tp.denies = append(tp.denies, r)
		case kindApproval:
			tp.approvals = append(tp.approvals, r)
		case kindAllow:
			tp.allows = append(tp.allows, r)
		}
	}
	for _, l := range e.limits {
		if l.target.matchesTool(server, kind, &spec) {
			tp.limits = append(tp.limits, l)
		}
	}
	return tp
}

// Spec returns the tool's metadata.
func (tp *ToolPolicy) Spec() core.ToolSpec { return tp.spec }

// Decide decides a call.
func (e *Engine) Decide(in Input) Decision {
	now := in.Time
	if now.IsZero() {
		now = time.Now()
	}
	spec := in.Tool
	return e.Feature(in.Server, in.Kind, spec).decide(in.Principal, &spec, in.Args, now)
}

// Decide decides a call to this tool.
func (tp *ToolPolicy) Decide(p *authn.Principal, args json.RawMessage, now time.Time) Decision {
	return tp.decide(p, &tp.spec, args, now)
}

func (tp *ToolPolicy) decide(p *authn.Principal, spec *core.ToolSpec, args json.RawMessage, now time.Time) Decision {
	if p == nil {
		return Decision{Rule: RuleUnauthenticated, Reason: "the call carries no authenticated principal"}
	}
	e := tp.eng
	var act *activation
	roles := e.resolveRoles(p, &act, now)
	clearance := e.clearance(roles)
	d := Decision{roles: roles, Clearance: levelName(clearance), Redact: tp.level > clearance}
	newAct := func() *activation {
		if act == nil {
			act = &activation{principal: p, now: now}
		}
		if !act.hasTool {
			act.server, act.tool, act.hasTool, act.rawArgs = tp.server, *spec, true, args
			act.roles = e.RoleNames(roles)
		}
		return act
	}
	for _, r := range tp.denies {
		if !r.target.appliesTo(roles) {
			continue
		}
		if r.cond != nil {
			ok, err := r.cond.eval(newAct())
			if err != nil {
				d.Rule, d.Reason = r.id, r.condErrReason
				return d
			}
			if !ok {
				continue
			}
		}
		d.Rule, d.Reason = r.id, r.reason
		return d
	}
	var allowedBy *compiledRule
	for _, r := range tp.allows {
		if !r.target.appliesTo(roles) {
			continue
		}
		if r.cond != nil {
			if ok, err := r.cond.eval(newAct()); err != nil || !ok {
				continue
			}
		}
		allowedBy = r
		break
	}
	switch {
	case allowedBy != nil:
		d.Allowed, d.Rule, d.Reason = true, allowedBy.id, allowedBy.reason
	case e.defaultAllow:
		d.Allowed, d.Rule, d.Reason = true, RuleDefault, "allowed by the policy default"
	default:
		d.Rule, d.Reason = RuleDefault, tp.defaultDeny
		return d
	}
	if tp.destructive {
		d.Approval = RuleApproveDestructive
		return d
	}
	for _, r := range tp.approvals {
		if !r.target.appliesTo(roles) {
			continue
		}
		if r.cond != nil {
			ok, err := r.cond.eval(newAct())
			if err == nil && !ok {
				continue
			}
			// An approval condition that fails to evaluate asks for
			// approval: the safe side.
		}
		d.Approval = r.id
		break
	}
	return d
}

// Visibility is what tools/list needs to know about a tool for a caller.
type Visibility struct {
	// Visible is false when no call could be allowed: a deny rule applies
	// unconditionally, or no allow rule (or default) could apply.
	Visible bool
	// Approval is set when a call may need a confirmation.
	Approval bool
}

// Visible decides whether the caller may see the tool in tools/list.
// Conditions that do not refer to args are evaluated; those that do are
// assumed to possibly hold.
func (tp *ToolPolicy) Visible(p *authn.Principal, now time.Time) Visibility {
	if p == nil {
		return Visibility{}
	}
	e := tp.eng
	var act *activation
	roles := e.resolveRoles(p, &act, now)
	// maybe reports whether r's condition could hold for some arguments.
	maybe := func(r *compiledRule, certainOnError bool) (possible, certain bool) {
		if r.cond == nil {
			return true, true
		}
		if r.cond.usesArgs {
			return true, false
		}
		if act == nil {
			act = &activation{principal: p, now: now}
		}
		if !act.hasTool {
			act.server, act.tool, act.hasTool = tp.server, tp.spec, true
			act.roles = e.RoleNames(roles)
		}
		ok, err := r.cond.eval(act)
		if err != nil {
			return certainOnError, certainOnError
		}
		return ok, ok
	}
	for _, r := range tp.denies {
		if !r.target.appliesTo(roles) {
			continue
		}
		if _, certain := maybe(r, true); certain {
			return Visibility{}
		}
	}
	visible := e.defaultAllow
	for _, r := range tp.allows {
		if visible {
			break
		}
		if r.target.appliesTo(roles) {
			visible, _ = maybe(r, false)
		}
	}
	if !visible {
		return Visibility{}
	}
	v := Visibility{Visible: true, Approval: tp.destructive}
	for _, r := range tp.approvals {
		if v.Approval {
			break
		}
		if r.target.appliesTo(roles) {
			v.Approval, _ = maybe(r, true)
		}
	}
	return v
}

// resolveRoles computes the caller's roles.
func (e *Engine) resolveRoles(p *authn.Principal, act **activation, now time.Time) roleSet {
	var rs roleSet
	for i, r := range e.roles {
		for j := range r.members {
			// A condition that cannot be evaluated (a claim the token does
			// not carry) does not grant the role.
			if ok, err := r.members[j].match(p, act, now); err == nil && ok {
				rs.add(i)
				break
			}
		}
	}
	return rs
}

// Roles returns the names of the roles p holds, in document order.
func (e *Engine) Roles(p *authn.Principal, now time.Time) []string {
	if p == nil {
		return nil
	}
	var act *activation
	return e.RoleNames(e.resolveRoles(p, &act, now))
}

// RoleNames names the roles in a decision's role set.
func (e *Engine) RoleNames(rs roleSet) []string {
	var out []string
	rs.each(func(i int) { out = append(out, e.roleNames[i]) })
	return out
}

// DecisionRoles names the roles the caller held when d was decided.
func (e *Engine) DecisionRoles(d Decision) []string { return e.RoleNames(d.roles) }

func (e *Engine) clearance(rs roleSet) int {
	c := e.defaultClearance
	rs.each(func(i int) { c = max(c, e.roles[i].clearance) })
	return c
}

func levelName(l int) core.Classification {
	for _, c := range []core.Classification{core.Public, core.Internal, core.Confidential, core.Restricted} {
		if c.Level() == l {
			return c
		}
	}
	return ""
}

// LimitCheck is one rate-limit bucket a call must take a token from.
type LimitCheck struct {
	// ID is the limit's id in the document.
	ID string
	// Bucket identifies the bucket: limit, fingerprint and the per-values.
	Bucket BucketKey
	Count  int
	Period time.Duration
	Burst  int
}

// BucketKey names one token bucket.
type BucketKey = ratelimit.Key

// HasLimits reports whether any rate limit can apply to the tool.
func (tp *ToolPolicy) HasLimits() bool { return len(tp.limits) > 0 }

// Limits appends the buckets a call by p (with the decision's roles) must
// take a token from.
func (tp *ToolPolicy) Limits(dst []LimitCheck, p *authn.Principal, d Decision) []LimitCheck {
	for _, l := range tp.limits {
		if !l.target.appliesTo(d.roles) {
			continue
		}
		key := BucketKey{Limit: l.bucket}
		if l.per.principal {
			key.Principal = p.ID()
		}
		if l.per.tool {
			key.Tool = tp.spec.Name
		}
		if l.per.server {
			key.Server = tp.server
		}
		check := LimitCheck{ID: l.id, Count: l.count, Period: l.period, Burst: l.burst}
		if !l.per.role {
			check.Bucket = key
			dst = append(dst, check)
			continue
		}
		// One bucket per role the caller holds that the limit targets.
		d.roles.each(func(i int) {
			if l.target.anyRole || l.target.roles.has(i) {
				k := key
				k.Role = tp.eng.roleNames[i]
				c := check
				c.Bucket = k
				dst = append(dst, c)
			}
		})
	}
	return dst
}

// RuleIDs lists the ids of the document's rules, in order.
func (e *Engine) RuleIDs() []string {
	out := make([]string, len(e.rules))
	for i, r := range e.rules {
		out[i] = r.id
	}
	return out
}
