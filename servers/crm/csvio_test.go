package crm_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/servers/crm"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

func TestCSVImportExport(t *testing.T) {
	yaml := "  custom_properties:\n    contacts:\n      - {name: tier, type: enum, values: [gold, silver]}\n"
	eachDriver(t, yaml, func(t *testing.T, s *server) {
		ctx := t.Context()
		companies := "Name,Domain,Industry\nAcme,acme.example,Anvils\n\"Beta, Inc.\",beta.example,\n"
		rep, err := s.svc.Import(ctx, store.Companies, strings.NewReader(companies), crm.ImportOptions{})
		if err != nil || rep.Imported != 2 {
			t.Fatalf("companies import = %+v, %v", rep, err)
		}

		// Every bad row is reported by line, and nothing is imported.
		bad := "first_name,last_name,email,company_id,tier\n" + // line 1
			"Ada,Lovelace,ada@acme.example,1,gold\n" + // 2: good
			"Bob,,not-an-email,1,\n" + // 3: bad e-mail
			"\"Multi\nLine\",X,m@acme.example,,\n" + // 4-5: one row over two lines; names are one line
			"Cy,,cy@acme.example,99,\n" + // 6: unknown company
			"Di,,di@acme.example,1,bronze\n" + // 7: bad enum
			",,,,\n" + // 8: empty
			"Ed,,ed@acme.example,1\n" // 9: too few fields
		before := s.counts(t)
		rep, err = s.svc.Import(ctx, store.Contacts, strings.NewReader(bad), crm.ImportOptions{})
		if !errors.Is(err, crm.ErrImportRejected) {
			t.Fatalf("import of a bad file: err = %v", err)
		}
		var lines []int
		for _, e := range rep.Errors {
			lines = append(lines, e.Line)
		}
		if got := fmt.Sprint(lines); got != "[3 4 6 7 8 9]" {
			t.Fatalf("bad lines = %v (%v)", lines, rep.Errors)
		}
		if !strings.Contains(rep.Errors[0].String(), "line 3: ") || !strings.Contains(rep.Errors[0].Message, "not a valid address") {
			t.Fatalf("first error = %q", rep.Errors[0])
		}
		if s.counts(t)[store.Contacts] != before[store.Contacts] {
			t.Fatal("a rejected import changed the database")
		}
		// With SkipErrors the good rows go in.
		rep, err = s.svc.Import(ctx, store.Contacts, strings.NewReader(bad), crm.ImportOptions{SkipErrors: true})
		if err != nil || rep.Imported != 1 || rep.Rows != 7 || len(rep.Errors) != 6 {
			t.Fatalf("skip-errors import = %+v, %v", rep, err)
		}
		if _, err := s.svc.Import(ctx, store.Contacts, strings.NewReader("first_name,shoe_size\nA,44\n"), crm.ImportOptions{SkipErrors: true}); err == nil || !strings.Contains(err.Error(), `line 1: unknown column "shoe_size"`) {
			t.Fatalf("unknown column: %v", err)
		}
		if _, err := s.svc.Import(ctx, store.Contacts, strings.NewReader("first_name\n\"unterminated\n"), crm.ImportOptions{}); !errors.Is(err, crm.ErrImportRejected) {
			t.Fatalf("broken quoting: %v", err)
		}

		deals := "name,amount,currency,stage,close_date,company_id\nBig,1000.50,EUR,proposal,2030-01-31,1\nWon,10,USD,closed_won,,\nNeg,-1,USD,lead,,\n"
		rep, err = s.svc.Import(ctx, store.Deals, strings.NewReader(deals), crm.ImportOptions{})
		if !errors.Is(err, crm.ErrImportRejected) || len(rep.Errors) != 1 || rep.Errors[0].Line != 4 {
			t.Fatalf("deals with a negative amount = %+v, %v", rep, err)
		}
		rep, err = s.svc.Import(ctx, store.Deals, strings.NewReader(strings.TrimSuffix(deals, "Neg,-1,USD,lead,,\n")), crm.ImportOptions{})
		if err != nil || rep.Imported != 2 {
			t.Fatalf("deals import = %+v, %v", rep, err)
		}
		won := call[crm.SearchOut](t, s, "search_records", obj{"type": "deals", "status": "won"})
		if won.Count != 1 || won.Deals[0].ClosedAt == nil {
			t.Fatalf("imported won deal = %+v", won)
		}

		// Export, then import the export into a fresh database.
		call[crm.WriteOut[crm.ContactView]](t, s, "create_contact", obj{"first_name": "=HYPERLINK(\"http://evil\")", "phone": "+1 555 0100"})
		var out bytes.Buffer
		n, err := s.svc.Export(ctx, store.Contacts, &out)
		if err != nil || n != 2 {
			t.Fatalf("export = %d, %v", n, err)
		}
		recs, err := csv.NewReader(bytes.NewReader(out.Bytes())).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(recs[0], ",") != "id,version,created_at,updated_at,first_name,last_name,email,phone,title,company_id,owner_id,tier" {
			t.Fatalf("header = %v", recs[0])
		}
		if recs[1][11] != "gold" || recs[2][4] != `'=HYPERLINK("http://evil")` || recs[2][7] != "+1 555 0100" {
			t.Fatalf("rows = %v", recs[1:])
		}
		fresh := startServer(t, s.svc.Store().Driver(), yaml)
		if _, err := fresh.svc.Import(ctx, store.Companies, strings.NewReader(companies), crm.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		rep, err = fresh.svc.Import(ctx, store.Contacts, bytes.NewReader(out.Bytes()), crm.ImportOptions{})
		if err != nil || rep.Imported != 2 {
			t.Fatalf("re-import of the export = %+v, %v", rep, err)
		}
		for _, kind := range []store.Kind{store.Companies, store.Deals} {
			if _, err := s.svc.Export(ctx, kind, &bytes.Buffer{}); err != nil {
				t.Fatalf("export %s: %v", kind, err)
			}
		}
		if _, err := s.svc.Export(ctx, store.Activities, &bytes.Buffer{}); err == nil {
			t.Fatal("export of activities succeeded")
		}
	})
}
