package crm_test

import (
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/servers/crm"
)

func TestContactsAndCompanies(t *testing.T) {
	eachDriver(t, "", func(t *testing.T, s *server) {
		co := call[crm.WriteOut[crm.CompanyView]](t, s, "create_company", obj{"name": "Acme Corp", "domain": "Acme.example", "industry": "Anvils"})
		if co.Record.Domain != "acme.example" || co.Record.Version != 1 || co.Record.URI == "" {
			t.Fatalf("company = %+v", co.Record)
		}
		args := obj{"first_name": "Wile", "last_name": "Coyote", "email": "wile@acme.example", "phone": "+1 (555) 010-2000",
			"company_id": co.Record.ID, "idempotency_key": "req-1"}
		c := call[crm.WriteOut[crm.ContactView]](t, s, "create_contact", args)
		if c.Replayed || c.Record.Email != "wile@acme.example" || *c.Record.CompanyID != co.Record.ID {
			t.Fatalf("contact = %+v", c)
		}
		// A retry with the same key and payload returns the same contact.
		again := call[crm.WriteOut[crm.ContactView]](t, s, "create_contact", args)
		if !again.Replayed || again.Record.ID != c.Record.ID {
			t.Fatalf("retry = %+v, want replay of %d", again, c.Record.ID)
		}
		// The same key with another payload is a conflict; nothing is created.
		before := s.counts(t)
		args["first_name"] = "Road"
		callErr(t, s, "create_contact", args, "idempotency key")
		if after := s.counts(t); after["contacts"] != before["contacts"] {
			t.Fatalf("contacts %d -> %d after idempotency conflict", before["contacts"], after["contacts"])
		}

		up := call[crm.WriteOut[crm.ContactView]](t, s, "update_contact", obj{"id": c.Record.ID, "expected_version": 1, "title": "Genius"})
		if up.Record.Version != 2 || up.Record.Title != "Genius" || up.Record.Email != "wile@acme.example" {
			t.Fatalf("updated = %+v", up.Record)
		}
		// A stale version is a conflict and changes nothing.
		msg := callErr(t, s, "update_contact", obj{"id": c.Record.ID, "expected_version": 1, "title": "Super genius"}, "conflict")
		if !strings.Contains(msg, "expected_version 2") {
			t.Fatalf("conflict message does not say what to retry with: %s", msg)
		}
		got := call[crm.RecordOut](t, s, "get_record", obj{"type": "contacts", "id": c.Record.ID})
		if got.Contact.Title != "Genius" || got.Related.Company == nil || got.Related.Company.ID != co.Record.ID {
			t.Fatalf("get_record = %+v", got)
		}
		// Clearing a link and a field.
		up = call[crm.WriteOut[crm.ContactView]](t, s, "update_contact", obj{"id": c.Record.ID, "expected_version": 2, "company_id": 0, "phone": ""})
		if up.Record.CompanyID != nil || up.Record.Phone != "" {
			t.Fatalf("cleared = %+v", up.Record)
		}
		callErr(t, s, "update_contact", obj{"id": c.Record.ID, "expected_version": 3}, "nothing to change")
		callErr(t, s, "update_contact", obj{"id": 99999, "expected_version": 1, "title": "x"}, "contact 99999 not found")
		callErr(t, s, "get_record", obj{"type": "companies", "id": 424242}, "company 424242 not found")
		callErr(t, s, "get_record", obj{"type": "users", "id": 1}, `type: value "users" is not one of: contacts, companies, deals, activities, owners`)

		cu := call[crm.WriteOut[crm.CompanyView]](t, s, "update_company", obj{"id": co.Record.ID, "expected_version": 1, "name": "Acme Corporation"})
		if cu.Record.Name != "Acme Corporation" || cu.Record.Version != 2 {
			t.Fatalf("company update = %+v", cu.Record)
		}
		callErr(t, s, "update_company", obj{"id": co.Record.ID, "expected_version": 1, "name": "x"}, "conflict")

		// Deleting the company keeps the contact, unlinked.
		del := call[crm.DeleteOut](t, s, "delete_record", obj{"type": "companies", "id": co.Record.ID, "expected_version": 2})
		if !del.Deleted {
			t.Fatalf("delete = %+v", del)
		}
		callErr(t, s, "delete_record", obj{"type": "companies", "id": co.Record.ID}, "not found")
		callErr(t, s, "delete_record", obj{"type": "contacts", "id": c.Record.ID, "expected_version": 1}, "conflict")
		call[crm.DeleteOut](t, s, "delete_record", obj{"type": "contacts", "id": c.Record.ID})
		// A retry of the create after the delete does not resurrect it.
		args["first_name"] = "Wile"
		callErr(t, s, "create_contact", args, "deleted")
	})
}

func TestSearchRecords(t *testing.T) {
	eachDriver(t, "  load_demo_data: true\n", func(t *testing.T, s *server) {
		all := map[int64]bool{}
		cursor := ""
		pages := 0
		for {
			args := obj{"type": "contacts", "limit": 40}
			if cursor != "" {
				args["cursor"] = cursor
			}
			page := call[crm.SearchOut](t, s, "search_records", args)
			for _, c := range page.Contacts {
				if all[c.ID] {
					t.Fatalf("contact %d on two pages", c.ID)
				}
				all[c.ID] = true
			}
			pages++
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		if len(all) != 200 || pages != 5 {
			t.Fatalf("paged through %d contacts in %d pages, want 200 in 5", len(all), pages)
		}

		hits := call[crm.SearchOut](t, s, "search_records", obj{"type": "companies", "query": "northw"})
		if hits.Count == 0 || !strings.HasPrefix(hits.Companies[0].Name, "Northwind") {
			t.Fatalf("companies matching northw = %+v", hits)
		}
		coID := hits.Companies[0].ID
		byCo := call[crm.SearchOut](t, s, "search_records", obj{"type": "contacts", "company_id": coID, "limit": 100})
		for _, c := range byCo.Contacts {
			if *c.CompanyID != coID {
				t.Fatalf("contact %d is not at company %d", c.ID, coID)
			}
		}
		// Ranked search pages too, and a cursor is bound to its query.
		p1 := call[crm.SearchOut](t, s, "search_records", obj{"type": "contacts", "query": "example", "limit": 5})
		if p1.NextCursor == "" {
			t.Fatal("no next page for a broad query")
		}
		p2 := call[crm.SearchOut](t, s, "search_records", obj{"type": "contacts", "query": "example", "limit": 5, "cursor": p1.NextCursor})
		if p2.Contacts[0].ID == p1.Contacts[0].ID {
			t.Fatal("second page repeats the first")
		}
		callErr(t, s, "search_records", obj{"type": "contacts", "query": "other", "limit": 5, "cursor": p1.NextCursor}, "cursor is invalid")
		callErr(t, s, "search_records", obj{"type": "contacts", "cursor": "not-a-cursor"}, "cursor is invalid")

		deals := call[crm.SearchOut](t, s, "search_records", obj{"type": "deals", "stage": "proposal", "status": "open"})
		for _, d := range deals.Deals {
			if d.Stage != "proposal" || d.Probability != 0.5 {
				t.Fatalf("deal = %+v", d)
			}
		}
		tasks := call[crm.SearchOut](t, s, "search_records", obj{"type": "activities", "activity_kind": "task", "limit": 100})
		if tasks.Count != 40 {
			t.Fatalf("tasks = %d, want 40", tasks.Count)
		}
		owners := call[crm.SearchOut](t, s, "search_records", obj{"type": "owners", "query": "avery"})
		if owners.Count != 1 {
			t.Fatalf("owners = %+v", owners)
		}
		callErr(t, s, "search_records", obj{"type": "companies", "stage": "lead"}, "filter stage does not apply to companies")
		callErr(t, s, "search_records", obj{"type": "contacts", "query": `"'*();--`}, "no letters or digits")
		callErr(t, s, "search_records", obj{"type": "contacts", "limit": 1000}, "limit 1000 is out of range")
		callErr(t, s, "search_records", obj{"type": "deals", "status": "pending"}, `status: value "pending" is not one of: open, won, lost`)
		callErr(t, s, "search_records", obj{"type": "contacts", "unknown": 1}, "invalid arguments")

		rec := call[crm.RecordOut](t, s, "get_record", obj{"type": "companies", "id": coID, "related_limit": 2})
		if rec.Company == nil || len(rec.Related.Deals) == 0 || rec.Related.Owner == nil || len(rec.Related.Contacts) > 2 {
			t.Fatalf("company record = %+v", rec.Related)
		}
	})
}
