package policy

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const meterName = "github.com/mcpfleet/mcpfleet/pkg/policy"

type metrics struct {
	decisions     metric.Int64Counter
	rateLimited   metric.Int64Counter
	limiterErrors metric.Int64Counter
	reloads       metric.Int64Counter
	approvals     metric.Int64Counter
	auditRefused  metric.Int64Counter

	reloadOK, reloadFailed metric.AddOption
}

func newMetrics(mp metric.MeterProvider, e *Enforcer) (*metrics, error) {
	m := mp.Meter(meterName)
	var (
		ms  metrics
		err error
	)
	counter := func(name, desc string) metric.Int64Counter {
		if err != nil {
			return nil
		}
		var c metric.Int64Counter
		c, err = m.Int64Counter(name, metric.WithDescription(desc))
		return c
	}
	ms.decisions = counter("mcpfleet.policy.decisions", "Policy decisions on tool calls, by decision and rule.")
	ms.rateLimited = counter("mcpfleet.policy.rate_limited", "Tool calls refused by a rate limit, by limit.")
	ms.limiterErrors = counter("mcpfleet.policy.rate_limit.backend_errors", "Rate-limit backend failures, by whether the call was let through.")
	ms.reloads = counter("mcpfleet.policy.reloads", "Policy reloads, by result (success or failure).")
	ms.approvals = counter("mcpfleet.policy.approvals", "Approval steps, by result.")
	ms.auditRefused = counter("mcpfleet.audit.refused", "Tool calls refused because the audit queue could not take their record.")
	if err != nil {
		return nil, err
	}
	ms.reloadOK = metric.WithAttributes(attribute.String("result", "success"))
	ms.reloadFailed = metric.WithAttributes(attribute.String("result", "failure"))

	info, err := m.Int64ObservableGauge("mcpfleet.policy.info",
		metric.WithDescription("1 for the policy document in force; its content hash, version, name and revision are attributes."))
	if err != nil {
		return nil, err
	}
	backlog, err := m.Int64ObservableGauge("mcpfleet.audit.backlog",
		metric.WithDescription("Audit records reserved, queued or being written, per sink."))
	if err != nil {
		return nil, err
	}
	written, err := m.Int64ObservableCounter("mcpfleet.audit.written", metric.WithDescription("Audit records committed, per sink."))
	if err != nil {
		return nil, err
	}
	failures, err := m.Int64ObservableCounter("mcpfleet.audit.write_failures",
		metric.WithDescription("Failed audit writes (each is retried), per sink."))
	if err != nil {
		return nil, err
	}
	dropped, err := m.Int64ObservableCounter("mcpfleet.audit.dropped",
		metric.WithDescription("Audit records lost because a shutdown deadline passed before they were written; must stay 0."))
	if err != nil {
		return nil, err
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := e.state.Load()
		o.ObserveInt64(info, 1, metric.WithAttributes(
			attribute.String("hash", st.doc.Hash()),
			attribute.Int("version", st.doc.Version),
			attribute.String("name", st.doc.Name),
			attribute.String("revision", st.doc.Revision)))
		for _, s := range e.AuditStats() {
			sink := metric.WithAttributes(attribute.String("sink", s.Sink))
			o.ObserveInt64(backlog, int64(s.Backlog), sink)
			o.ObserveInt64(written, s.Written, sink)
			o.ObserveInt64(failures, s.Failures, sink)
			o.ObserveInt64(dropped, s.Dropped, sink)
		}
		return nil
	}, info, backlog, written, failures, dropped)
	if err != nil {
		return nil, err
	}
	return &ms, nil
}

func (m *metrics) reload(ok bool) {
	if ok {
		m.reloads.Add(context.Background(), 1, m.reloadOK)
	} else {
		m.reloads.Add(context.Background(), 1, m.reloadFailed)
	}
}

// decisionOpts holds the attribute options of every possible decision, so
// that counting one allocates nothing.
type decisionOpts struct {
	byRule map[decisionKey][]metric.AddOption
	limits map[string][]metric.AddOption
}

type decisionKey struct {
	rule    string
	allowed bool
}

func newDecisionOpts(eng *Engine) *decisionOpts {
	d := &decisionOpts{byRule: map[decisionKey][]metric.AddOption{}, limits: map[string][]metric.AddOption{}}
	rules := append(eng.RuleIDs(), RuleDefault, RuleUnauthenticated, RuleUnknownTool)
	for _, r := range rules {
		for _, allowed := range []bool{true, false} {
			dec := "deny"
			if allowed {
				dec = "allow"
			}
			d.byRule[decisionKey{r, allowed}] = []metric.AddOption{
				metric.WithAttributes(attribute.String("decision", dec), attribute.String("rule", r))}
		}
	}
	for _, l := range eng.limits {
		d.limits[l.id] = []metric.AddOption{metric.WithAttributes(attribute.String("limit", l.id))}
	}
	return d
}

// decision returns the options of a decision's counter; passing the
// stored slice as opts... allocates nothing.
func (d *decisionOpts) decision(rule string, allowed bool) []metric.AddOption {
	if o, ok := d.byRule[decisionKey{rule, allowed}]; ok {
		return o
	}
	dec := "deny"
	if allowed {
		dec = "allow"
	}
	return []metric.AddOption{metric.WithAttributes(attribute.String("decision", dec), attribute.String("rule", rule))}
}
