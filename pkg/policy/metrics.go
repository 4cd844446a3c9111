package policy

import (
	"context"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const meterName = "github.com/mcpfleet/mcpfleet/pkg/policy"

type metrics struct {
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
	ms.rateLimited = counter("mcpfleet.policy.rate_limited", "Tool calls refused by a rate limit, by limit.")
	ms.limiterErrors = counter("mcpfleet.policy.rate_limit.backend_errors", "Rate-limit backend failures, by whether the call was let through.")
	ms.reloads = counter("mcpfleet.policy.reloads", "Policy reloads, by result (success or failure).")
	ms.approvals = counter("mcpfleet.policy.approvals", "Approval steps, by result.")
	ms.auditRefused = counter("mcpfleet.audit.refused", "Tool calls refused because the audit queue could not take their record.")
	if err != nil {
		return nil, err
	}
	_, err = m.Int64ObservableCounter("mcpfleet.policy.decisions",
		metric.WithDescription("Policy decisions on tool calls, by decision and rule."),
		metric.WithInt64Callback(e.decisions.observe))
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

// decisionCounts counts policy decisions by rule and outcome. Every tool
// call counts one, so the count is an atomic add, and the decisions counter
// is an asynchronous instrument that reads the counts when metrics are
// collected: a synchronous counter resolved and aggregated its attributes on
// every call, about 1.7 µs of a one-client call in profiles. The exported
// series are the same: a cumulative monotonic sum per decision and rule,
// present once counted.
type decisionCounts struct {
	mu sync.Mutex
	// all holds every counter ever handed out. It outlives policy reloads,
	// as a synchronous counter's series did: a rule that a reload removes
	// keeps its total, and one that comes back counts on from it.
	all map[decisionKey]*decisionCount
}

type decisionCount struct {
	n   atomic.Int64
	set []metric.ObserveOption
}

type decisionKey struct {
	rule    string
	allowed bool
}

func newDecisionCounts() *decisionCounts {
	return &decisionCounts{all: map[decisionKey]*decisionCount{}}
}

// get returns the counter of a decision, creating it on first use.
func (c *decisionCounts) get(k decisionKey) *decisionCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	if dc, ok := c.all[k]; ok {
		return dc
	}
	dec := "deny"
	if k.allowed {
		dec = "allow"
	}
	dc := &decisionCount{set: []metric.ObserveOption{metric.WithAttributeSet(
		attribute.NewSet(attribute.String("decision", dec), attribute.String("rule", k.rule)))}}
	c.all[k] = dc
	return dc
}

func (c *decisionCounts) observe(_ context.Context, o metric.Int64Observer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, dc := range c.all {
		if n := dc.n.Load(); n > 0 {
			o.Observe(n, dc.set...)
		}
	}
	return nil
}

// decisionOpts holds what counting a decision or a rate limit needs for
// one loaded policy, so that counting allocates nothing.
type decisionOpts struct {
	counts *decisionCounts
	byRule map[decisionKey]*decisionCount
	limits map[string][]metric.AddOption
}

func newDecisionOpts(eng *Engine, counts *decisionCounts) *decisionOpts {
	d := &decisionOpts{counts: counts, byRule: map[decisionKey]*decisionCount{}, limits: map[string][]metric.AddOption{}}
	rules := append(eng.RuleIDs(), RuleDefault, RuleUnauthenticated, RuleUnknownTool, RuleTaskTool, RuleApproveDestructive)
	for _, r := range rules {
		for _, allowed := range []bool{true, false} {
			k := decisionKey{r, allowed}
			d.byRule[k] = counts.get(k)
		}
	}
	for _, l := range eng.limits {
		d.limits[l.id] = []metric.AddOption{metric.WithAttributes(attribute.String("limit", l.id))}
	}
	return d
}

// count counts one decision.
func (d *decisionOpts) count(rule string, allowed bool) {
	k := decisionKey{rule, allowed}
	dc, ok := d.byRule[k]
	if !ok {
		dc = d.counts.get(k)
	}
	dc.n.Add(1)
}
