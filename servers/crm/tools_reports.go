package crm

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// PipelineSummaryIn are the arguments of pipeline_summary.
type PipelineSummaryIn struct {
	Pipeline string `json:"pipeline,omitempty" jsonschema:"pipeline name (default: the first configured pipeline)"`
	OwnerID  int64  `json:"owner_id,omitempty" jsonschema:"only this owner's deals"`
	Period   string `json:"period,omitempty" jsonschema:"group open deals by expected close date per month (default) or quarter"`
	From     string `json:"from,omitempty" jsonschema:"only deals expected to close on or after this date, YYYY-MM-DD"`
	To       string `json:"to,omitempty" jsonschema:"only deals expected to close on or before this date, YYYY-MM-DD"`
}

// Money is a total in one currency.
type Money struct {
	Currency string  `json:"currency"`
	Amount   float64 `json:"amount"`
	Weighted float64 `json:"weighted" jsonschema:"amount times the stage's win probability (the forecast)"`
}

// Bucket is a count of deals and their totals per currency.
type Bucket struct {
	Count   int64   `json:"count"`
	Amounts []Money `json:"amounts,omitempty"`
}

// StageSummary is one stage's deals.
type StageSummary struct {
	Stage       string  `json:"stage"`
	Status      string  `json:"status"`
	Probability float64 `json:"probability"`
	Bucket
}

// OwnerSummary is one owner's open deals.
type OwnerSummary struct {
	OwnerID   *int64 `json:"owner_id,omitempty" jsonschema:"absent for unowned deals"`
	OwnerName string `json:"owner_name,omitempty"`
	Bucket
}

// PeriodSummary is the open deals expected to close in one period.
type PeriodSummary struct {
	Period string `json:"period" jsonschema:"YYYY-MM or YYYY-Qn; empty for deals without a close date"`
	Bucket
}

// PipelineSummaryOut is the pipeline_summary result.
type PipelineSummaryOut struct {
	Pipeline string          `json:"pipeline"`
	Period   string          `json:"period"`
	Stages   []StageSummary  `json:"stages" jsonschema:"every stage in pipeline order"`
	ByOwner  []OwnerSummary  `json:"by_owner" jsonschema:"open deals per owner"`
	ByPeriod []PeriodSummary `json:"by_period" jsonschema:"open deals per expected close period"`
	Open     Bucket          `json:"open"`
	Won      Bucket          `json:"won"`
	Lost     Bucket          `json:"lost"`
}

// moneyAcc sums minor units per currency.
type moneyAcc struct {
	count    int64
	amount   map[string]int64
	weighted map[string]float64
}

func (a *moneyAcc) add(r store.PipelineRow, p float64) {
	if a.amount == nil {
		a.amount, a.weighted = map[string]int64{}, map[string]float64{}
	}
	a.count += r.Count
	a.amount[r.Currency] += r.AmountMinor
	a.weighted[r.Currency] += float64(r.AmountMinor) * p
}

func (a *moneyAcc) bucket() Bucket {
	b := Bucket{Count: a.count}
	for cur, minor := range a.amount {
		exp, _ := currencyExponent(cur)
		scale := math.Pow10(exp)
		b.Amounts = append(b.Amounts, Money{Currency: cur, Amount: fromMinor(minor, cur), Weighted: math.Round(a.weighted[cur]) / scale})
	}
	slices.SortFunc(b.Amounts, func(x, y Money) int { return cmp.Compare(x.Currency, y.Currency) })
	return b
}

func newPipelineSummary(s *Service) *core.ToolDef {
	return core.NewTool(core.ToolSpec{
		Name:  "pipeline_summary",
		Title: "Pipeline summary and forecast",
		Description: "Summarise a pipeline: deal count, amount and probability-weighted forecast per stage, and for open deals per owner " +
			"and per expected close month or quarter. Amounts are totalled per currency, never converted. " + s.pipelinesHelp(),
		Toolset: toolsetReports, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.No,
		Classification: core.Internal, Permissions: core.NoPermissions,
	}, s.pipelineSummary)
}

func (s *Service) pipelineSummary(ctx context.Context, _ *core.Call, in PipelineSummaryIn) (PipelineSummaryOut, error) {
	p, err := s.cfg.pipeline(in.Pipeline)
	if err != nil {
		return PipelineSummaryOut{}, err
	}
	period := cmp.Or(in.Period, "month")
	if period != "month" && period != "quarter" {
		return PipelineSummaryOut{}, fmt.Errorf("period %q is not month or quarter", in.Period)
	}
	q := store.PipelineQuery{Pipeline: p.Name, OwnerID: in.OwnerID, Period: period}
	for _, d := range []struct {
		name, v string
		into    *store.Date
	}{{"from", in.From, &q.From}, {"to", in.To, &q.To}} {
		if d.v != "" {
			if *d.into, err = checkDate(d.name, d.v); err != nil {
				return PipelineSummaryOut{}, err
			}
		}
	}
	st, err := s.store()
	if err != nil {
		return PipelineSummaryOut{}, err
	}
	rows, err := st.PipelineRows(ctx, q)
	if err != nil {
		return PipelineSummaryOut{}, s.explain(ctx, err)
	}
	probability := map[string]float64{}
	stageAcc := map[string]*moneyAcc{}
	for _, stg := range p.Stages {
		probability[stg.Name] = stg.Probability
		stageAcc[stg.Name] = &moneyAcc{}
	}
	var open, won, lost moneyAcc
	owners := map[int64]*moneyAcc{}
	periods := map[string]*moneyAcc{}
	var extraStages []StageSummary
	for _, r := range rows {
		prob := probability[r.Stage] // 0 for a stage no longer configured
		acc, ok := stageAcc[r.Stage]
		if !ok {
			acc = &moneyAcc{}
			stageAcc[r.Stage] = acc
			extraStages = append(extraStages, StageSummary{Stage: r.Stage, Status: r.Status})
		}
		acc.add(r, prob)
		switch r.Status {
		case "won":
			won.add(r, 1)
		case "lost":
			lost.add(r, 0)
		default:
			open.add(r, prob)
			var owner int64
			if r.OwnerID != nil {
				owner = *r.OwnerID
			}
			if owners[owner] == nil {
				owners[owner] = &moneyAcc{}
			}
			owners[owner].add(r, prob)
			if periods[r.Period] == nil {
				periods[r.Period] = &moneyAcc{}
			}
			periods[r.Period].add(r, prob)
		}
	}
	out := PipelineSummaryOut{Pipeline: p.Name, Period: period, Open: open.bucket(), Won: won.bucket(), Lost: lost.bucket(),
		ByOwner: []OwnerSummary{}, ByPeriod: []PeriodSummary{}}
	for _, stg := range p.Stages {
		out.Stages = append(out.Stages, StageSummary{Stage: stg.Name, Status: stg.Status, Probability: stg.Probability, Bucket: stageAcc[stg.Name].bucket()})
	}
	for _, x := range extraStages {
		x.Bucket = stageAcc[x.Stage].bucket()
		out.Stages = append(out.Stages, x)
	}
	for id, acc := range owners {
		o := OwnerSummary{Bucket: acc.bucket()}
		if id != 0 {
			o.OwnerID = new(id)
			if ow, err := st.Owner(ctx, id); err == nil {
				o.OwnerName = ow.Name
			}
		}
		out.ByOwner = append(out.ByOwner, o)
	}
	slices.SortFunc(out.ByOwner, func(a, b OwnerSummary) int {
		return cmp.Compare(ptrOr(a.OwnerID), ptrOr(b.OwnerID))
	})
	for key, acc := range periods {
		out.ByPeriod = append(out.ByPeriod, PeriodSummary{Period: key, Bucket: acc.bucket()})
	}
	slices.SortFunc(out.ByPeriod, func(a, b PeriodSummary) int {
		// Undated deals last.
		if (a.Period == "") != (b.Period == "") {
			return cmp.Compare(b.Period, a.Period)
		}
		return cmp.Compare(a.Period, b.Period)
	})
	return out, nil
}

func ptrOr(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// DuplicatesIn are the arguments of find_duplicate_contacts.
type DuplicatesIn struct {
	ContactID int64 `json:"contact_id,omitempty" jsonschema:"only duplicates of this contact"`
	Limit     int   `json:"limit,omitempty" jsonschema:"groups per rule, 1 to 50 (default 10)"`
}

// DuplicateGroup is contacts that look like one person.
type DuplicateGroup struct {
	Reason   string        `json:"reason" jsonschema:"the strongest rule that matched: same_email, same_phone or same_name_company"`
	Reasons  []string      `json:"reasons" jsonschema:"every rule that matched these contacts"`
	Key      string        `json:"key" jsonschema:"the shared, normalised value of reason (personal data)"`
	Contacts []ContactView `json:"contacts"`
}

// DuplicatesOut is the find_duplicate_contacts result.
type DuplicatesOut struct {
	Count  int              `json:"count"`
	Groups []DuplicateGroup `json:"groups"`
}

func newFindDuplicateContacts(s *Service) *core.ToolDef {
	return core.NewTool(core.ToolSpec{
		Name:  "find_duplicate_contacts",
		Title: "Find likely duplicate contacts",
		Description: "Find groups of contacts that are probably the same person: same e-mail (case-insensitive), same phone " +
			"(digits only, at least 7) or same full name at the same company. Review before merging or deleting; nothing is changed.",
		Toolset: toolsetReports, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.No,
		Classification: core.Confidential, Permissions: core.NoPermissions,
	}, func(ctx context.Context, _ *core.Call, in DuplicatesIn) (DuplicatesOut, error) {
		limit := cmp.Or(in.Limit, 10)
		if limit < 1 || limit > 50 {
			return DuplicatesOut{}, fmt.Errorf("limit %d is out of range 1 to 50", in.Limit)
		}
		if in.ContactID < 0 {
			return DuplicatesOut{}, checkID("contact_id", in.ContactID)
		}
		st, err := s.store()
		if err != nil {
			return DuplicatesOut{}, err
		}
		if in.ContactID != 0 {
			if _, err := st.Contact(ctx, in.ContactID); err != nil {
				return DuplicatesOut{}, s.explain(ctx, err)
			}
		}
		groups, err := st.DuplicateContacts(ctx, in.ContactID, limit)
		if err != nil {
			return DuplicatesOut{}, s.explain(ctx, err)
		}
		out := DuplicatesOut{Groups: []DuplicateGroup{}}
		for _, g := range groups {
			dg := DuplicateGroup{Reason: g.Reason, Reasons: g.Reasons, Key: g.Key}
			for _, id := range g.ContactIDs {
				c, err := st.Contact(ctx, id)
				if err != nil {
					continue // deleted meanwhile
				}
				dg.Contacts = append(dg.Contacts, contactView(c))
			}
			if len(dg.Contacts) > 1 {
				out.Groups = append(out.Groups, dg)
			}
		}
		out.Count = len(out.Groups)
		return out, nil
	})
}
