package crm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// DealFields are a deal's writable fields; on update only the fields given
// change. The stage changes only through move_deal_stage.
type DealFields struct {
	Name       *string        `json:"name,omitempty" jsonschema:"deal name (required on create)"`
	Amount     *float64       `json:"amount,omitempty" jsonschema:"deal value in major units of the currency (1500.50), zero or more"`
	Currency   *string        `json:"currency,omitempty" jsonschema:"ISO 4217 code such as USD, EUR, JPY (default from config); changing it needs amount too"`
	CloseDate  *string        `json:"close_date,omitempty" jsonschema:"expected close date YYYY-MM-DD; empty string clears"`
	CompanyID  *int64         `json:"company_id,omitempty" jsonschema:"the customer company; 0 removes the link"`
	OwnerID    *int64         `json:"owner_id,omitempty" jsonschema:"owning user (search_records type owners); 0 removes"`
	ContactIDs *[]int64       `json:"contact_ids,omitempty" jsonschema:"contacts involved in the deal; replaces the current list"`
	Properties map[string]any `json:"properties,omitempty" jsonschema:"custom property values by name; on update a null value removes one"`
}

// CreateDealIn are the arguments of create_deal.
type CreateDealIn struct {
	DealFields
	Pipeline       string `json:"pipeline,omitempty" jsonschema:"pipeline name (default: the first configured pipeline)"`
	Stage          string `json:"stage,omitempty" jsonschema:"starting stage (default: the pipeline's first stage)"`
	IdempotencyKey string `json:"idempotency_key,omitempty" jsonschema:"any unique string; retrying with the same key and arguments returns the first result instead of creating a duplicate"`
}

// UpdateDealIn are the arguments of update_deal.
type UpdateDealIn struct {
	ID              int64 `json:"id" jsonschema:"the deal's id"`
	ExpectedVersion int64 `json:"expected_version" jsonschema:"the version you read; if the deal changed since, the update is refused as a conflict"`
	DealFields
}

// dealValues validates deal fields. current is the stored deal on update
// (nil on create) so that amount and currency are checked together.
func (s *Service) dealValues(ctx context.Context, in DealFields, current *store.Deal) (fieldSet, error) {
	var f fieldSet
	create := current == nil
	if create && (in.Name == nil || strings.TrimSpace(*in.Name) == "") || !create && in.Name != nil && strings.TrimSpace(*in.Name) == "" {
		f.fail(errors.New("name is required and cannot be empty"))
	}
	f.text("name", in.Name, maxName, false)
	currency := s.cfg.DefaultCurrency
	if current != nil {
		currency = current.Currency
	}
	currencyOK := true
	if in.Currency != nil {
		currency = strings.TrimSpace(*in.Currency)
		if err := checkCurrency(currency); err != nil {
			f.fail(err)
			currencyOK = false
		} else {
			f.set("currency", currency)
		}
		if !create && in.Amount == nil && currency != current.Currency {
			f.fail(errors.New("changing the currency needs the amount in the new currency too"))
		}
	} else if create {
		f.set("currency", currency)
	}
	// With a bad currency the amount cannot be checked; the currency error
	// is reported once.
	if in.Amount != nil && currencyOK {
		if minor, err := toMinor(*in.Amount, currency); err != nil {
			f.fail(err)
		} else {
			f.set("amount_minor", minor)
		}
	}
	if in.CloseDate != nil {
		if *in.CloseDate == "" {
			f.set("close_date", store.Date(""))
		} else if d, err := checkDate("close_date", *in.CloseDate); err != nil {
			f.fail(err)
		} else {
			f.set("close_date", d)
		}
	}
	f.ref("company_id", in.CompanyID)
	f.ref("owner_id", in.OwnerID)
	if in.ContactIDs != nil {
		if len(*in.ContactIDs) > maxContacts {
			f.fail(fmt.Errorf("contact_ids has %d ids; the limit is %d", len(*in.ContactIDs), maxContacts))
		}
		for _, id := range *in.ContactIDs {
			f.fail(checkID("contact_ids", id))
		}
	}
	var id, expected int64
	if current != nil {
		id, expected = current.ID, current.Version
	}
	if err := s.properties(ctx, &f, store.Deals, in.Properties, id, expected); err != nil {
		return f, err
	}
	return f, f.err()
}

func contactIDs(in *[]int64) (bool, []int64) {
	if in == nil {
		return false, nil
	}
	return true, *in
}

func newCreateDeal(s *Service) *core.ToolDef {
	return newCreateTool(core.ToolSpec{
		Name:  "create_deal",
		Title: "Create a deal",
		Description: "Create a deal in a pipeline stage, with amount, currency, expected close date, company, contacts and owner. " +
			s.pipelinesHelp() + " Pass an idempotency_key so that a retried call cannot create a duplicate." + s.propertiesHelp(store.Deals),
		Toolset: toolsetDeals, Effect: core.Additive, Idempotent: core.No, OpenWorld: core.No,
		Classification: core.Internal, Permissions: core.NoPermissions,
	}, []string{"name"}, nil, func(ctx context.Context, _ *core.Call, in CreateDealIn) (WriteOut[DealView], error) {
		w, err := s.newDeal(ctx, in)
		if err != nil {
			return WriteOut[DealView]{}, err
		}
		key := in.IdempotencyKey
		in.IdempotencyKey = ""
		id, replayed, err := s.create(ctx, w, key, in)
		if err != nil {
			return WriteOut[DealView]{}, err
		}
		return result(ctx, s, (*store.Store).Deal, s.dealView, id, replayed)
	})
}

// newDeal validates a new deal (create_deal and CSV import).
func (s *Service) newDeal(ctx context.Context, in CreateDealIn) (store.Write, error) {
	p, err := s.cfg.pipeline(in.Pipeline)
	if err != nil {
		return store.Write{}, err
	}
	stage := p.Stages[0]
	if in.Stage != "" {
		if stage, err = p.stage(in.Stage); err != nil {
			return store.Write{}, err
		}
	}
	f, err := s.dealValues(ctx, in.DealFields, nil)
	if err != nil {
		return store.Write{}, err
	}
	f.set("pipeline", p.Name)
	f.set("stage", stage.Name)
	f.set("status", stage.Status)
	if stage.Status != "open" {
		f.set("closed_at", s.now())
	}
	replace, ids := contactIDs(in.ContactIDs)
	return store.Write{Kind: store.Deals, Set: f.vals, ReplaceContacts: replace, ContactIDs: ids}, nil
}

func newUpdateDeal(s *Service) *core.ToolDef {
	return core.NewTool(core.ToolSpec{
		Name:  "update_deal",
		Title: "Update a deal",
		Description: "Change some fields of a deal (not its stage: use move_deal_stage); fields left out keep their values. " +
			"expected_version must be the version you last read: a deal changed by someone else since is a conflict, never overwritten." +
			s.propertiesHelp(store.Deals),
		Toolset: toolsetDeals, Effect: core.Additive, Idempotent: core.Yes, OpenWorld: core.No,
		Classification: core.Internal, Permissions: core.NoPermissions,
	}, func(ctx context.Context, _ *core.Call, in UpdateDealIn) (WriteOut[DealView], error) {
		current, err := s.versionedDeal(ctx, in.ID, in.ExpectedVersion)
		if err != nil {
			return WriteOut[DealView]{}, err
		}
		f, err := s.dealValues(ctx, in.DealFields, &current)
		if err != nil {
			return WriteOut[DealView]{}, err
		}
		replace, ids := contactIDs(in.ContactIDs)
		if err := s.update(ctx, in.ID, in.ExpectedVersion, store.Write{Kind: store.Deals, Set: f.vals, ReplaceContacts: replace, ContactIDs: ids}); err != nil {
			return WriteOut[DealView]{}, err
		}
		return result(ctx, s, (*store.Store).Deal, s.dealView, in.ID, false)
	})
}

// versionedDeal reads a deal for an update at version expected.
func (s *Service) versionedDeal(ctx context.Context, id, expected int64) (store.Deal, error) {
	if err := checkVersion(id, expected); err != nil {
		return store.Deal{}, err
	}
	st, err := s.store()
	if err != nil {
		return store.Deal{}, err
	}
	d, err := st.Deal(ctx, id)
	if err != nil {
		return store.Deal{}, s.explain(ctx, err)
	}
	if d.Version != expected {
		return store.Deal{}, s.explain(ctx, &store.ConflictError{Kind: store.Deals, ID: id, Expected: expected, Current: d.Version})
	}
	return d, nil
}

// MoveStageIn are the arguments of move_deal_stage.
type MoveStageIn struct {
	ID              int64  `json:"id" jsonschema:"the deal's id"`
	ExpectedVersion int64  `json:"expected_version" jsonschema:"the version you read; if the deal changed since, the move is refused as a conflict"`
	Stage           string `json:"stage" jsonschema:"the stage to move to; a won or lost stage closes the deal"`
	Pipeline        string `json:"pipeline,omitempty" jsonschema:"move into another pipeline (default: stay in the deal's pipeline)"`
}

func newMoveDealStage(s *Service) *core.ToolDef {
	return core.NewTool(core.ToolSpec{
		Name:  "move_deal_stage",
		Title: "Move a deal to a stage",
		Description: "Move a deal to another stage of its pipeline. Moving to a won or lost stage closes the deal (status won/lost); " +
			"moving back to an open stage reopens it. " + s.pipelinesHelp(),
		Toolset: toolsetDeals, Effect: core.Additive, Idempotent: core.Yes, OpenWorld: core.No,
		Classification: core.Internal, Permissions: core.NoPermissions,
	}, func(ctx context.Context, _ *core.Call, in MoveStageIn) (WriteOut[DealView], error) {
		current, err := s.versionedDeal(ctx, in.ID, in.ExpectedVersion)
		if err != nil {
			return WriteOut[DealView]{}, err
		}
		name := in.Pipeline
		if name == "" {
			name = current.Pipeline
		}
		p, err := s.cfg.pipeline(name)
		if err != nil {
			return WriteOut[DealView]{}, err
		}
		stage, err := p.stage(in.Stage)
		if err != nil {
			return WriteOut[DealView]{}, err
		}
		var f fieldSet
		f.set("pipeline", p.Name)
		f.set("stage", stage.Name)
		f.set("status", stage.Status)
		switch {
		case stage.Status == "open":
			f.set("closed_at", nil)
		case current.Status == "open" || current.ClosedAt == nil:
			f.set("closed_at", s.now())
		}
		if err := s.update(ctx, in.ID, in.ExpectedVersion, store.Write{Kind: store.Deals, Set: f.vals}); err != nil {
			return WriteOut[DealView]{}, err
		}
		return result(ctx, s, (*store.Store).Deal, s.dealView, in.ID, false)
	})
}

// pipelinesHelp lists the pipelines and their stages for tool descriptions.
func (s *Service) pipelinesHelp() string {
	parts := make([]string, len(s.cfg.Pipelines))
	for i, p := range s.cfg.Pipelines {
		stages := make([]string, len(p.Stages))
		for j, st := range p.Stages {
			stages[j] = fmt.Sprintf("%s %.0f%%", st.Name, st.Probability*100)
			if st.Status != "open" {
				stages[j] += " " + st.Status
			}
		}
		parts[i] = p.Name + ": " + strings.Join(stages, ", ")
	}
	return "Pipelines and stages (win probability): " + strings.Join(parts, "; ") + "."
}
