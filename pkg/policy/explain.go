package policy

import (
	"fmt"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

// Explanation says how a decision was reached: the caller's roles and, for
// every rule and rate limit in the document, whether it matched and why
// not. It is for people (mcpfleet policy explain), not the hot path.
type Explanation struct {
	Principal string       `json:"principal"`
	Roles     []string     `json:"roles"`
	Clearance string       `json:"clearance"`
	Server    string       `json:"server"`
	Tool      string       `json:"tool"`
	Rules     []RuleTrace  `json:"rules"`
	Limits    []LimitTrace `json:"rate_limits,omitempty"`
	Decision  Decision     `json:"-"`
	Result    string       `json:"decision"`
	Rule      string       `json:"rule"`
	Reason    string       `json:"reason"`
	Approval  string       `json:"approval,omitempty"`
	Redact    bool         `json:"redact"`
}

// RuleTrace is one rule's part in a decision.
type RuleTrace struct {
	ID      string `json:"id"`
	Effect  string `json:"effect"`
	Matched bool   `json:"matched"`
	// Why says why the rule did not match, or what its condition gave.
	Why string `json:"why"`
}

// LimitTrace is one rate limit's part in a decision.
type LimitTrace struct {
	ID      string   `json:"id"`
	Applies bool     `json:"applies"`
	Why     string   `json:"why,omitempty"`
	Buckets []string `json:"buckets,omitempty"`
}

// Explain decides in as Decide does and reports every rule's part.
func (e *Engine) Explain(in Input) Explanation {
	now := in.Time
	if now.IsZero() {
		now = time.Now()
	}
	d := e.Decide(Input{Principal: in.Principal, Server: in.Server, Tool: in.Tool, Args: in.Args, Time: now})
	ex := Explanation{Server: in.Server, Tool: in.Tool.Name, Decision: d, Rule: d.Rule, Reason: d.Reason,
		Approval: d.Approval, Redact: d.Redact, Clearance: string(d.Clearance), Result: "deny"}
	if d.Allowed {
		ex.Result = "allow"
	}
	if in.Principal == nil {
		ex.Principal = "(none)"
		return ex
	}
	ex.Principal = in.Principal.ID()
	ex.Roles = e.DecisionRoles(d)
	act := &activation{principal: in.Principal, roles: ex.Roles, server: in.Server, tool: in.Tool, hasTool: true, rawArgs: in.Args, now: now}
	for _, r := range e.rules {
		rt := RuleTrace{ID: r.id, Effect: [...]string{EffectAllow, EffectDeny, EffectRequireApproval}[r.kind]}
		switch why := r.target.whyNotTool(in.Server, in.Kind, &in.Tool); {
		case why != "":
			rt.Why = why
		case !r.target.appliesTo(d.roles):
			rt.Why = "the caller holds none of the rule's roles"
		case r.cond == nil:
			rt.Matched, rt.Why = true, "matches (no condition)"
		default:
			ok, err := r.cond.eval(act)
			switch {
			case err != nil && r.kind == kindAllow:
				rt.Why = fmt.Sprintf("condition failed (%v): an allow rule does not apply", err)
			case err != nil:
				rt.Matched, rt.Why = true, fmt.Sprintf("condition failed (%v): applies to be safe", err)
			case ok:
				rt.Matched, rt.Why = true, "condition is true"
			default:
				rt.Why = "condition is false"
			}
		}
		ex.Rules = append(ex.Rules, rt)
	}
	if d.Allowed && e.approveDestructive && in.Tool.Effect == core.Destructive {
		ex.Rules = append(ex.Rules, RuleTrace{ID: RuleApproveDestructive, Effect: EffectRequireApproval, Matched: true,
			Why: "the tool is destructive and approvals.destructive is on"})
	}
	tp := e.Feature(in.Server, in.Kind, in.Tool)
	checks := tp.Limits(nil, in.Principal, d)
	for _, l := range e.limits {
		lt := LimitTrace{ID: l.id}
		switch why := l.target.whyNotTool(in.Server, in.Kind, &in.Tool); {
		case why != "":
			lt.Why = why
		case !l.target.appliesTo(d.roles):
			lt.Why = "the caller holds none of the limit's roles"
		default:
			lt.Applies = true
			for _, c := range checks {
				if c.ID == l.id {
					lt.Buckets = append(lt.Buckets, c.Bucket.String())
				}
			}
		}
		ex.Limits = append(ex.Limits, lt)
	}
	return ex
}
