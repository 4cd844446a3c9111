package crm_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/servers/crm"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// TestBadInputChangesNothing sends invalid and hostile input to every write
// tool: each gets a tool error saying what is wrong, and the database is
// unchanged.
func TestBadInputChangesNothing(t *testing.T) {
	eachDriver(t, "", func(t *testing.T, s *server) {
		co := call[crm.WriteOut[crm.CompanyView]](t, s, "create_company", obj{"name": "Umbrella"})
		ct := call[crm.WriteOut[crm.ContactView]](t, s, "create_contact", obj{"first_name": "Alice", "email": "alice@umbrella.example"})
		dl := call[crm.WriteOut[crm.DealView]](t, s, "create_deal", obj{"name": "Hive", "amount": 10})
		before := s.counts(t)

		huge := strings.Repeat("x", 1<<20)
		cases := []struct {
			tool string
			args obj
			want string
		}{
			{"create_contact", obj{"first_name": "Bob", "email": "not-an-email"}, "not a valid address"},
			{"create_contact", obj{"first_name": "Bob", "email": "Bob <bob@example.com>"}, "not a valid address"},
			{"create_contact", obj{"first_name": "Bob", "email": "bob@localhost"}, "needs a domain"},
			{"create_contact", obj{"first_name": "Bob", "phone": "call me maybe"}, "phone"},
			{"create_contact", obj{"first_name": "Bob\x00", "email": "bob@example.com"}, "control character"},
			{"create_contact", obj{"first_name": "Bob\u202egnp.exe"}, "control character"},
			{"create_contact", obj{"first_name": "Line\nbreak"}, "control character"},
			{"create_contact", obj{"first_name": huge}, "the limit is 200"},
			{"create_contact", obj{"title": "CTO"}, "give at least one of: first_name, last_name, email"},
			{"create_contact", obj{"first_name": "Bob", "company_id": 987654}, "company 987654 not found"},
			{"create_contact", obj{"first_name": "Bob", "company_id": -1}, "positive id"},
			{"create_contact", obj{"first_name": "Bob", "properties": obj{"tier": "gold"}}, `unknown property "tier"`},
			{"create_contact", obj{"first_name": "Bob", "idempotency_key": huge}, "idempotency_key"},
			{"create_contact", obj{"first_name": 42}, "invalid arguments"},
			{"create_contact", obj{"first_name": "Bob", "email": "b@example.com", "phone": "1", "title": huge}, "phone"},
			{"create_company", obj{"name": ""}, "name is required"},
			{"create_company", obj{"name": "X", "domain": "https://x.example/path"}, "not a domain name"},
			{"create_deal", obj{"name": "D", "amount": -5}, "negative"},
			{"create_deal", obj{"name": "D", "amount": 1.005, "currency": "USD"}, "more decimals"},
			{"create_deal", obj{"name": "D", "amount": 1.5, "currency": "JPY"}, "more decimals"},
			{"create_deal", obj{"name": "D", "amount": 1e15}, "over the limit"},
			{"create_deal", obj{"name": "D", "currency": "usd"}, "not an ISO 4217 code"},
			{"create_deal", obj{"name": "D", "currency": "XYZ"}, "not an ISO 4217 code"},
			{"create_deal", obj{"name": "D", "stage": "won"}, `unknown stage "won"`},
			{"create_deal", obj{"name": "D", "close_date": "31/12/2030"}, "YYYY-MM-DD"},
			{"create_deal", obj{"name": "D", "contact_ids": []int64{ct.Record.ID, 55555}}, "contact 55555 not found"},
			{"create_deal", obj{"name": "D", "company_id": co.Record.ID, "amount": -1, "currency": "??", "close_date": "x"}, "ISO 4217"},
			{"update_deal", obj{"id": dl.Record.ID, "expected_version": 1, "amount": -1}, "negative"},
			{"update_deal", obj{"id": dl.Record.ID, "expected_version": 1, "name": ""}, "cannot be empty"},
			{"update_deal", obj{"id": dl.Record.ID, "expected_version": 0, "name": "x"}, "expected_version"},
			{"update_contact", obj{"id": ct.Record.ID, "expected_version": 1, "email": "nope"}, "not a valid address"},
			{"update_company", obj{"id": co.Record.ID, "expected_version": 1, "owner_id": 31337}, "owner 31337 not found"},
			{"move_deal_stage", obj{"id": dl.Record.ID, "expected_version": 1, "stage": "'; DROP TABLE deals; --"}, "unknown stage"},
			{"log_activity", obj{"kind": "note", "subject": strings.Repeat("s", 501), "company_id": co.Record.ID}, "the limit is 500"},
			{"log_activity", obj{"kind": "note", "subject": "x", "body": strings.Repeat("b", 20001), "company_id": co.Record.ID}, "the limit is 20000"},
			{"delete_record", obj{"type": "owners", "id": 1}, `type: value "owners" is not one of`},
			{"delete_record", obj{"type": "deals", "id": dl.Record.ID, "expected_version": 9}, "conflict"},
		}
		for _, c := range cases {
			callErr(t, s, c.tool, c.args, c.want)
		}
		if after := s.counts(t); !maps.Equal(before, after) {
			t.Fatalf("bad input changed the database: %v -> %v", before, after)
		}
		for _, r := range []struct {
			typ string
			id  int64
		}{{"companies", co.Record.ID}, {"contacts", ct.Record.ID}, {"deals", dl.Record.ID}} {
			got := call[crm.RecordOut](t, s, "get_record", obj{"type": r.typ, "id": r.id, "related_limit": 0})
			var v int64
			switch {
			case got.Company != nil:
				v = got.Company.Version
			case got.Contact != nil:
				v = got.Contact.Version
			case got.Deal != nil:
				v = got.Deal.Version
			}
			if v != 1 {
				t.Errorf("%s %d is at version %d after rejected updates", r.typ, r.id, v)
			}
		}

		// Hostile but valid text is stored verbatim and found again.
		sqlish := `Robert'); DROP TABLE contacts;-- "x" %_ \`
		got := call[crm.WriteOut[crm.ContactView]](t, s, "create_contact", obj{"first_name": sqlish, "last_name": "Tables 😀 Ünïcode"})
		if got.Record.FirstName != strings.TrimSpace(sqlish) {
			t.Fatalf("stored %q", got.Record.FirstName)
		}
		found := call[crm.SearchOut](t, s, "search_records", obj{"type": "contacts", "query": `robert DROP "tables`})
		if found.Count != 1 {
			t.Fatalf("search for hostile text found %d", found.Count)
		}
		// An error names every problem at once.
		msg := callErr(t, s, "create_deal", obj{"name": "", "amount": -1, "close_date": "x"}, "name is required")
		if !strings.Contains(msg, "negative") || !strings.Contains(msg, "YYYY-MM-DD") {
			t.Fatalf("error does not list every problem: %s", msg)
		}
	})
}

func TestCustomProperties(t *testing.T) {
	yaml := `  custom_properties:
    contacts:
      - {name: tier, type: enum, values: [gold, silver], required: true}
      - {name: score, type: number}
      - {name: vip, type: bool}
      - {name: birthday, type: date}
      - {name: notes, type: string}
    deals:
      - {name: source, type: string}
`
	eachDriver(t, yaml, func(t *testing.T, s *server) {
		c := call[crm.WriteOut[crm.ContactView]](t, s, "create_contact", obj{"first_name": "Pia",
			"properties": obj{"tier": "gold", "score": 4.5, "vip": true, "birthday": "1990-05-01"}})
		p := c.Record.Properties
		if p["tier"] != "gold" || p["score"] != 4.5 || p["vip"] != true || p["birthday"] != "1990-05-01" {
			t.Fatalf("properties = %v", p)
		}
		callErr(t, s, "create_contact", obj{"first_name": "Q"}, `property "tier" (enum) is required`)
		callErr(t, s, "create_contact", obj{"first_name": "Q", "properties": obj{"tier": "bronze"}}, `must be one of "gold", "silver"`)
		callErr(t, s, "create_contact", obj{"first_name": "Q", "properties": obj{"tier": "gold", "score": "high"}}, "must be a number")
		callErr(t, s, "create_contact", obj{"first_name": "Q", "properties": obj{"tier": "gold", "vip": "yes"}}, "true or false")
		callErr(t, s, "create_contact", obj{"first_name": "Q", "properties": obj{"tier": "gold", "birthday": "May 1"}}, "YYYY-MM-DD")
		// Update merges; null removes an optional property, never a required one.
		up := call[crm.WriteOut[crm.ContactView]](t, s, "update_contact", obj{"id": c.Record.ID, "expected_version": 1,
			"properties": obj{"score": nil, "notes": "met at the fair"}})
		if _, ok := up.Record.Properties["score"]; ok || up.Record.Properties["notes"] != "met at the fair" || up.Record.Properties["tier"] != "gold" {
			t.Fatalf("merged properties = %v", up.Record.Properties)
		}
		callErr(t, s, "update_contact", obj{"id": c.Record.ID, "expected_version": 2, "properties": obj{"tier": nil}}, "cannot be removed")
		callErr(t, s, "update_contact", obj{"id": c.Record.ID, "expected_version": 1, "properties": obj{"notes": "x"}}, "conflict")
		d := call[crm.WriteOut[crm.DealView]](t, s, "create_deal", obj{"name": "D", "properties": obj{"source": "web"}})
		if d.Record.Properties["source"] != "web" {
			t.Fatalf("deal properties = %v", d.Record.Properties)
		}
		// The descriptions tell the model what exists.
		if spec, _ := s.harness.Catalog.Spec("create_contact"); !strings.Contains(spec.Description, "tier (enum: gold|silver, required)") {
			t.Fatalf("description = %s", spec.Description)
		}
	})
}

func TestFindDuplicateContacts(t *testing.T) {
	eachDriver(t, "", func(t *testing.T, s *server) {
		a := call[crm.WriteOut[crm.ContactView]](t, s, "create_contact", obj{"first_name": "Jane", "last_name": "Doe", "email": "jane@doe.example", "phone": "+44 20 7946 0000"})
		call[crm.WriteOut[crm.ContactView]](t, s, "create_contact", obj{"first_name": "J.", "last_name": "Doe", "email": "JANE@doe.example"})
		call[crm.WriteOut[crm.ContactView]](t, s, "create_contact", obj{"first_name": "Janet", "last_name": "Roe", "phone": "442079460000"})
		lone := call[crm.WriteOut[crm.ContactView]](t, s, "create_contact", obj{"first_name": "Solo", "email": "solo@example.com"})
		out := call[crm.DuplicatesOut](t, s, "find_duplicate_contacts", obj{})
		reasons := map[string]int{}
		for _, g := range out.Groups {
			reasons[g.Reason] = len(g.Contacts)
		}
		if reasons["same_email"] != 2 || reasons["same_phone"] != 2 || len(out.Groups) != 2 {
			t.Fatalf("groups = %+v", out.Groups)
		}
		mine := call[crm.DuplicatesOut](t, s, "find_duplicate_contacts", obj{"contact_id": a.Record.ID})
		if mine.Count != 2 {
			t.Fatalf("duplicates of %d = %+v", a.Record.ID, mine)
		}
		if none := call[crm.DuplicatesOut](t, s, "find_duplicate_contacts", obj{"contact_id": lone.Record.ID}); none.Count != 0 {
			t.Fatalf("duplicates of a unique contact = %+v", none)
		}
		callErr(t, s, "find_duplicate_contacts", obj{"contact_id": 4444}, "contact 4444 not found")
		callErr(t, s, "find_duplicate_contacts", obj{"limit": 500}, "out of range")
	})
}

// TestDemoDuplicatesArePrecise: the demo data holds three deliberate
// near-duplicates (same person, same company, e-mail in another case) and
// find_duplicate_contacts reports exactly those, each once with every rule
// that matched; people who merely share a name at other companies are not
// reported.
func TestDemoDuplicatesArePrecise(t *testing.T) {
	eachDriver(t, "  load_demo_data: true\n", func(t *testing.T, s *server) {
		out := call[crm.DuplicatesOut](t, s, "find_duplicate_contacts", obj{"limit": 50})
		if out.Count != 3 {
			var b strings.Builder
			for _, g := range out.Groups {
				fmt.Fprintf(&b, "\n%s %v %q", g.Reason, g.Reasons, g.Key)
			}
			t.Fatalf("%d groups, want the 3 deliberate near-duplicates:%s", out.Count, b.String())
		}
		for _, g := range out.Groups {
			a, b := g.Contacts[0], g.Contacts[1]
			if len(g.Contacts) != 2 || !strings.EqualFold(a.Email, b.Email) || a.Email == b.Email || a.CompanyID == nil || b.CompanyID == nil || *a.CompanyID != *b.CompanyID ||
				a.FirstName+a.LastName != b.FirstName+b.LastName {
				t.Errorf("not a deliberate near-duplicate: %+v", g)
			}
			if !slices.Equal(g.Reasons, []string{"same_email", "same_name_company"}) {
				t.Errorf("reasons = %v", g.Reasons)
			}
		}
	})
}

// TestCreateToolsDeclareRequiredFields: the create tools' schemas say what
// a new record needs, and arguments without it are refused before anything
// is written.
func TestCreateToolsDeclareRequiredFields(t *testing.T) {
	s := startServer(t, store.SQLite, "")
	tools, err := s.cs.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	schemas := map[string]map[string]any{}
	for _, tool := range tools.Tools {
		b, _ := json.Marshal(tool.InputSchema)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		schemas[tool.Name] = m
	}
	for tool, want := range map[string]string{"create_company": "name", "create_deal": "name", "log_activity": "subject"} {
		req, _ := schemas[tool]["required"].([]any)
		if !slices.Contains(req, any(want)) {
			t.Errorf("%s: required = %v, want %s in it", tool, req, want)
		}
		if typ := schemas[tool]["properties"].(map[string]any)[want].(map[string]any)["type"]; typ != "string" {
			t.Errorf("%s.%s: type %v, want string", tool, want, typ)
		}
	}
	anyOf, _ := json.Marshal(schemas["create_contact"]["anyOf"])
	if string(anyOf) != `[{"required":["first_name"]},{"required":["last_name"]},{"required":["email"]}]` {
		t.Errorf("create_contact anyOf = %s", anyOf)
	}
	if req, _ := schemas["update_company"]["required"].([]any); slices.Contains(req, any("name")) {
		t.Errorf("update_company requires name: %v", req)
	}

	before := s.counts(t)
	callErr(t, s, "create_company", obj{"domain": "acme.example"}, "name")
	callErr(t, s, "create_deal", obj{"amount": 5}, "name")
	callErr(t, s, "create_contact", obj{"title": "CTO"}, "give at least one of: first_name, last_name, email")
	if after := s.counts(t); !maps.Equal(before, after) {
		t.Errorf("a refused create wrote something: %v -> %v", before, after)
	}
	call[crm.WriteOut[crm.ContactView]](t, s, "create_contact", obj{"email": "only@mail.example"})
}

// TestInvisibleTextIsDropped: the CRM applies the fleet's one rule for
// untrusted text (pkg/core/untrusted), as GitHub does: zero-width and tag
// characters never reach what a model reads, whether written through a
// tool or already in the database.
func TestInvisibleTextIsDropped(t *testing.T) {
	yaml := "  custom_properties:\n    contacts:\n      - {name: notes, type: string}\n"
	s := startServer(t, store.SQLite, yaml)
	hidden := "Ada\u200b\u200dLove\U000E0041\U000E0042lace"
	ct := call[crm.WriteOut[crm.ContactView]](t, s, "create_contact", obj{"first_name": hidden, "title": "C\u2060TO",
		"email": "ada\u200b@example.com", "properties": obj{"notes": "pay\u200bme"}})
	if c := ct.Record; c.FirstName != "AdaLovelace" || c.Title != "CTO" || c.Email != "ada@example.com" || c.Properties["notes"] != "payme" {
		t.Errorf("created contact = %+v", c)
	}
	act := call[crm.WriteOut[crm.ActivityView]](t, s, "log_activity", obj{"kind": "note", "subject": "Call\u200b", "body": "line one\n\u200bline two",
		"contact_id": ct.Record.ID})
	if act.Record.Subject != "Call" || act.Record.Body != "line one\nline two" {
		t.Errorf("activity = %+v", act.Record)
	}
	// A row written around the tools (an old database, another program).
	if _, err := s.svc.Store().BulkInsert(t.Context(), store.Companies, []string{"name", "properties"}, [][]any{{"Hid\u200bden Co", map[string]any{}}}); err != nil {
		t.Fatal(err)
	}
	found := call[crm.SearchOut](t, s, "search_records", obj{"type": "companies", "query": "Co"})
	b, _ := json.Marshal(found)
	if strings.Contains(string(b), "\u200b") || strings.Contains(string(b), `\u200b`) || !strings.Contains(string(b), "Hidden Co") {
		t.Errorf("search result carries invisible text: %s", b)
	}
}
