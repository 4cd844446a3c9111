package crm_test

import (
	"testing"

	"github.com/mcpfleet/mcpfleet/servers/crm"
)

func TestDeals(t *testing.T) {
	eachDriver(t, "", func(t *testing.T, s *server) {
		co := call[crm.WriteOut[crm.CompanyView]](t, s, "create_company", obj{"name": "Globex"})
		c1 := call[crm.WriteOut[crm.ContactView]](t, s, "create_contact", obj{"first_name": "Hank", "company_id": co.Record.ID})
		c2 := call[crm.WriteOut[crm.ContactView]](t, s, "create_contact", obj{"first_name": "Homer"})
		d := call[crm.WriteOut[crm.DealView]](t, s, "create_deal", obj{
			"name": "Globex rollout", "amount": 12500.5, "currency": "EUR", "close_date": "2030-06-30",
			"company_id": co.Record.ID, "contact_ids": []int64{c1.Record.ID, c2.Record.ID}, "idempotency_key": "deal-1",
		})
		r := d.Record
		if r.Stage != "lead" || r.Status != "open" || r.Amount != 12500.5 || r.Currency != "EUR" || r.Probability != 0.1 || len(r.ContactIDs) != 2 {
			t.Fatalf("deal = %+v", r)
		}
		if again := call[crm.WriteOut[crm.DealView]](t, s, "create_deal", obj{
			"name": "Globex rollout", "amount": 12500.5, "currency": "EUR", "close_date": "2030-06-30",
			"company_id": co.Record.ID, "contact_ids": []int64{c1.Record.ID, c2.Record.ID}, "idempotency_key": "deal-1",
		}); !again.Replayed || again.Record.ID != r.ID {
			t.Fatalf("retry = %+v", again)
		}
		// Default currency, zero amount, JPY without decimals.
		jpy := call[crm.WriteOut[crm.DealView]](t, s, "create_deal", obj{"name": "Tokyo", "amount": 1000000, "currency": "JPY", "stage": "proposal"})
		if jpy.Record.Amount != 1000000 || jpy.Record.Probability != 0.5 {
			t.Fatalf("jpy deal = %+v", jpy.Record)
		}
		usd := call[crm.WriteOut[crm.DealView]](t, s, "create_deal", obj{"name": "Default"})
		if usd.Record.Currency != "USD" || usd.Record.Amount != 0 {
			t.Fatalf("default deal = %+v", usd.Record)
		}

		moved := call[crm.WriteOut[crm.DealView]](t, s, "move_deal_stage", obj{"id": r.ID, "expected_version": 1, "stage": "negotiation"})
		if moved.Record.Stage != "negotiation" || moved.Record.Version != 2 || moved.Record.ClosedAt != nil {
			t.Fatalf("moved = %+v", moved.Record)
		}
		won := call[crm.WriteOut[crm.DealView]](t, s, "move_deal_stage", obj{"id": r.ID, "expected_version": 2, "stage": "closed_won"})
		if won.Record.Status != "won" || won.Record.ClosedAt == nil || won.Record.Probability != 1 {
			t.Fatalf("won = %+v", won.Record)
		}
		reopened := call[crm.WriteOut[crm.DealView]](t, s, "move_deal_stage", obj{"id": r.ID, "expected_version": 3, "stage": "proposal"})
		if reopened.Record.Status != "open" || reopened.Record.ClosedAt != nil {
			t.Fatalf("reopened = %+v", reopened.Record)
		}
		callErr(t, s, "move_deal_stage", obj{"id": r.ID, "expected_version": 3, "stage": "lead"}, "conflict")
		callErr(t, s, "move_deal_stage", obj{"id": r.ID, "expected_version": 4, "stage": "signed"}, `unknown stage "signed"`)
		callErr(t, s, "move_deal_stage", obj{"id": r.ID, "expected_version": 4, "stage": "lead", "pipeline": "x"}, `unknown pipeline "x"`)
		callErr(t, s, "move_deal_stage", obj{"id": 4242, "expected_version": 1, "stage": "lead"}, "deal 4242 not found")

		up := call[crm.WriteOut[crm.DealView]](t, s, "update_deal", obj{"id": r.ID, "expected_version": 4, "amount": 99.99, "contact_ids": []int64{c2.Record.ID}, "close_date": ""})
		if up.Record.Amount != 99.99 || len(up.Record.ContactIDs) != 1 || up.Record.CloseDate != "" {
			t.Fatalf("updated = %+v", up.Record)
		}
		callErr(t, s, "update_deal", obj{"id": r.ID, "expected_version": 5, "currency": "GBP"}, "needs the amount")
		cur := call[crm.WriteOut[crm.DealView]](t, s, "update_deal", obj{"id": r.ID, "expected_version": 5, "currency": "GBP", "amount": 80})
		if cur.Record.Currency != "GBP" || cur.Record.Amount != 80 {
			t.Fatalf("currency change = %+v", cur.Record)
		}
		rel := call[crm.RecordOut](t, s, "get_record", obj{"type": "deals", "id": r.ID})
		if rel.Related.Company == nil || len(rel.Related.Contacts) != 1 || rel.Related.Contacts[0].ID != c2.Record.ID {
			t.Fatalf("deal relations = %+v", rel.Related)
		}
		// Deals of a contact, through the association.
		byContact := call[crm.SearchOut](t, s, "search_records", obj{"type": "deals", "contact_id": c2.Record.ID})
		if byContact.Count != 1 {
			t.Fatalf("deals of contact = %+v", byContact)
		}
		call[crm.DeleteOut](t, s, "delete_record", obj{"type": "contacts", "id": c2.Record.ID})
		after := call[crm.RecordOut](t, s, "get_record", obj{"type": "deals", "id": r.ID})
		if len(after.Deal.ContactIDs) != 0 {
			t.Fatalf("deleted contact still linked: %+v", after.Deal)
		}
	})
}

func TestPipelineSummary(t *testing.T) {
	eachDriver(t, "", func(t *testing.T, s *server) {
		owner, err := s.svc.Store().EnsureOwner(t.Context(), "Pat", "pat@example.com")
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []obj{
			{"name": "a", "amount": 1000, "stage": "lead", "close_date": "2030-01-10", "owner_id": owner.ID},
			{"name": "b", "amount": 3000, "stage": "proposal", "close_date": "2030-02-10", "owner_id": owner.ID},
			{"name": "c", "amount": 500, "stage": "proposal", "currency": "EUR"},
			{"name": "d", "amount": 7000, "stage": "closed_won", "close_date": "2030-01-20"},
			{"name": "e", "amount": 200, "stage": "closed_lost"},
		} {
			call[crm.WriteOut[crm.DealView]](t, s, "create_deal", d)
		}
		sum := call[crm.PipelineSummaryOut](t, s, "pipeline_summary", obj{})
		if len(sum.Stages) != 6 || sum.Stages[0].Stage != "lead" || sum.Stages[2].Count != 2 {
			t.Fatalf("stages = %+v", sum.Stages)
		}
		// Open USD: 1000*0.1 + 3000*0.5 = 1600 weighted of 4000.
		if sum.Open.Count != 3 || len(sum.Open.Amounts) != 2 || sum.Open.Amounts[1] != (crm.Money{Currency: "USD", Amount: 4000, Weighted: 1600}) {
			t.Fatalf("open = %+v", sum.Open)
		}
		if sum.Won.Count != 1 || sum.Won.Amounts[0].Amount != 7000 || sum.Lost.Count != 1 {
			t.Fatalf("won/lost = %+v %+v", sum.Won, sum.Lost)
		}
		if len(sum.ByOwner) != 2 || sum.ByOwner[1].OwnerName != "Pat" || sum.ByOwner[1].Count != 2 {
			t.Fatalf("by owner = %+v", sum.ByOwner)
		}
		if len(sum.ByPeriod) != 3 || sum.ByPeriod[0].Period != "2030-01" || sum.ByPeriod[2].Period != "" {
			t.Fatalf("by period = %+v", sum.ByPeriod)
		}
		q := call[crm.PipelineSummaryOut](t, s, "pipeline_summary", obj{"period": "quarter", "owner_id": owner.ID, "from": "2030-01-01", "to": "2030-03-31"})
		if q.Open.Count != 2 || len(q.ByPeriod) != 1 || q.ByPeriod[0].Period != "2030-Q1" {
			t.Fatalf("quarter = %+v", q)
		}
		callErr(t, s, "pipeline_summary", obj{"period": "week"}, `period "week"`)
		callErr(t, s, "pipeline_summary", obj{"pipeline": "renewals"}, `unknown pipeline "renewals"`)
		callErr(t, s, "pipeline_summary", obj{"from": "soon"}, "YYYY-MM-DD")
	})
}
