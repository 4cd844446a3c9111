package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mcpfleet/mcpfleet/servers/crm/internal/testdb"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func forEachDriver(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	for _, d := range testdb.Drivers {
		t.Run(d, func(t *testing.T) { fn(t, testdb.Open(t, d)) })
	}
}

func TestCreateUpdateConflict(t *testing.T) {
	forEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		owner, err := s.EnsureOwner(ctx, "Olive Owner", "olive@example.com")
		if err != nil {
			t.Fatal(err)
		}
		coID, _, err := s.Create(ctx, store.Write{Kind: store.Companies, Set: []store.Value{
			{Col: "name", V: "Acme Widgets"}, {Col: "domain", V: "acme.example"}, {Col: "owner_id", V: owner.ID},
		}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		id, _, err := s.Create(ctx, store.Write{Kind: store.Contacts, Set: []store.Value{
			{Col: "first_name", V: "Ada"}, {Col: "last_name", V: "Lovelace"}, {Col: "email", V: "ada@acme.example"},
			{Col: "company_id", V: coID}, {Col: "properties", V: map[string]any{"tier": "gold"}},
		}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.Contact(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Version != 1 || c.FirstName != "Ada" || *c.CompanyID != coID || c.Properties["tier"] != "gold" || c.CreatedAt.IsZero() {
			t.Fatalf("contact = %+v", c)
		}
		if err := s.Update(ctx, id, 1, store.Write{Kind: store.Contacts, Set: []store.Value{{Col: "title", V: "CTO"}}}); err != nil {
			t.Fatal(err)
		}
		var conflict *store.ConflictError
		err = s.Update(ctx, id, 1, store.Write{Kind: store.Contacts, Set: []store.Value{{Col: "title", V: "CEO"}}})
		if !errors.As(err, &conflict) || conflict.Current != 2 {
			t.Fatalf("stale update: err = %v, want conflict at version 2", err)
		}
		var nf *store.NotFoundError
		if err := s.Update(ctx, 999, 1, store.Write{Kind: store.Contacts, Set: []store.Value{{Col: "title", V: "x"}}}); !errors.As(err, &nf) {
			t.Fatalf("missing record: err = %v", err)
		}
		if _, _, err := s.Create(ctx, store.Write{Kind: store.Contacts, Set: []store.Value{{Col: "company_id", V: int64(424242)}}}, nil); !errors.As(err, &nf) || nf.Kind != store.Companies {
			t.Fatalf("dangling reference: err = %v", err)
		}
		if _, _, err := s.Create(ctx, store.Write{Kind: store.Contacts, Set: []store.Value{{Col: "id", V: int64(1)}}}, nil); err == nil {
			t.Fatal("writing a non-writable column succeeded")
		}
		c, _ = s.Contact(ctx, id)
		if c.Title != "CTO" || c.Version != 2 {
			t.Fatalf("after conflict: %+v", c)
		}
		rel, err := s.Related(ctx, store.Companies, coID, 10)
		if err != nil || len(rel.Contacts) != 1 {
			t.Fatalf("related = %+v, %v", rel, err)
		}
		if err := s.Delete(ctx, store.Companies, coID, 0); err != nil {
			t.Fatal(err)
		}
		c, _ = s.Contact(ctx, id)
		if c.CompanyID != nil {
			t.Fatalf("contact still linked to deleted company: %+v", c)
		}
	})
}

func TestIdempotency(t *testing.T) {
	forEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := store.Write{Kind: store.Companies, Set: []store.Value{{Col: "name", V: "Initech"}}}
		idem := &store.Idempotency{Key: "k1", Hash: "h1"}
		// Concurrent retries of one request make one record.
		ids := make([]int64, 8)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				id, _, err := s.Create(ctx, w, idem)
				if err != nil {
					t.Error(err)
				}
				ids[i] = id
			})
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("ids = %v, want all equal", ids)
			}
		}
		counts, _ := s.Counts(ctx)
		if counts[store.Companies] != 1 {
			t.Fatalf("companies = %d, want 1", counts[store.Companies])
		}
		var ic *store.IdempotencyConflictError
		if _, _, err := s.Create(ctx, w, &store.Idempotency{Key: "k1", Hash: "other"}); !errors.As(err, &ic) {
			t.Fatalf("reused key: err = %v", err)
		}
		// The same key for another kind is independent.
		if _, replayed, err := s.Create(ctx, store.Write{Kind: store.Contacts, Set: []store.Value{{Col: "first_name", V: "x"}}}, idem); err != nil || replayed {
			t.Fatalf("other kind: replayed=%v err=%v", replayed, err)
		}
		// Keys are kept until purged, then a retry creates anew.
		if n, err := s.PurgeIdempotencyKeys(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("purge of older keys removed %d (%v); the keys are new", n, err)
		}
		if _, replayed, err := s.Create(ctx, w, idem); err != nil || !replayed {
			t.Fatalf("before the purge: replayed=%v err=%v", replayed, err)
		}
		if n, err := s.PurgeIdempotencyKeys(ctx, time.Now().Add(time.Hour)); err != nil || n != 2 {
			t.Fatalf("purge removed %d (%v), want 2", n, err)
		}
		if id, replayed, err := s.Create(ctx, w, idem); err != nil || replayed || id == ids[0] {
			t.Fatalf("after the purge: id=%d replayed=%v err=%v", id, replayed, err)
		}
	})
}

func TestSearchAndReports(t *testing.T) {
	forEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		rows := [][]any{
			{"Grace", "Hopper", "grace@navy.example", "+1 (555) 010-0001"},
			{"Grace", "Hopper", "ghopper@other.example", "15550100001"},
			{"Alan", "Turing", "alan@bletchley.example", ""},
			{"Joan", "Clarke", "JOAN@bletchley.example", ""},
			{"Joan", "Clarke", "joan@bletchley.example", ""},
		}
		ids, err := s.BulkInsert(ctx, store.Contacts, []string{"first_name", "last_name", "email", "phone"}, rows)
		if err != nil || len(ids) != len(rows) {
			t.Fatalf("bulk insert: %v %v", ids, err)
		}
		got, more, err := s.SearchContacts(ctx, store.SearchQuery{Text: "bletch", Limit: 10})
		if err != nil || more || len(got) != 3 {
			t.Fatalf("search bletch: %d results more=%v err=%v", len(got), more, err)
		}
		if _, _, err := s.SearchContacts(ctx, store.SearchQuery{Text: `hop "); DROP TABLE contacts; --`, Limit: 10}); err != nil {
			t.Fatalf("hostile query: %v", err)
		}
		if _, _, err := s.SearchContacts(ctx, store.SearchQuery{Text: `"*()`, Limit: 10}); !errors.Is(err, store.ErrNoSearchWords) {
			t.Fatalf("punctuation-only query: %v", err)
		}
		page1, more, err := s.SearchContacts(ctx, store.SearchQuery{Limit: 2})
		if err != nil || !more || len(page1) != 2 {
			t.Fatalf("page 1: %d more=%v err=%v", len(page1), more, err)
		}
		page2, _, err := s.SearchContacts(ctx, store.SearchQuery{Limit: 2, AfterID: page1[1].ID})
		if err != nil || page2[0].ID <= page1[1].ID {
			t.Fatalf("page 2: %+v %v", page2, err)
		}
		groups, err := s.DuplicateContacts(ctx, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		reasons := map[string]int{}
		for _, g := range groups {
			reasons[g.Reason] += len(g.ContactIDs)
		}
		// A full name without a shared company is no evidence: the Grace
		// Hoppers pair up by phone, the Joan Clarkes by e-mail, once each.
		if reasons["same_email"] != 2 || reasons["same_phone"] != 2 || len(groups) != 2 {
			t.Fatalf("duplicate groups = %+v", groups)
		}
		mine, err := s.DuplicateContacts(ctx, ids[2], 10)
		if err != nil || len(mine) != 0 {
			t.Fatalf("duplicates of a unique contact = %+v, %v", mine, err)
		}

		for i, stage := range []string{"lead", "lead", "won"} {
			status := "open"
			if stage == "won" {
				status = "won"
			}
			if _, _, err := s.Create(ctx, store.Write{Kind: store.Deals, Set: []store.Value{
				{Col: "name", V: "Deal"}, {Col: "pipeline", V: "sales"}, {Col: "stage", V: stage}, {Col: "status", V: status},
				{Col: "amount_minor", V: int64(1000 * (i + 1))}, {Col: "currency", V: "EUR"}, {Col: "close_date", V: store.Date("2025-02-14")},
			}, ReplaceContacts: true, ContactIDs: []int64{ids[0], ids[1]}}, nil); err != nil {
				t.Fatal(err)
			}
		}
		pr, err := s.PipelineRows(ctx, store.PipelineQuery{Pipeline: "sales", Period: "quarter"})
		if err != nil {
			t.Fatal(err)
		}
		if len(pr) != 2 || pr[0].Period != "2025-Q1" {
			t.Fatalf("pipeline rows = %+v", pr)
		}
		d, err := s.Deal(ctx, 1)
		if err != nil || len(d.ContactIDs) != 2 || d.CloseDate != "2025-02-14" {
			t.Fatalf("deal = %+v, %v", d, err)
		}
		byContact, _, err := s.SearchDeals(ctx, store.SearchQuery{ContactID: ids[0], Limit: 10})
		if err != nil || len(byContact) != 3 {
			t.Fatalf("deals by contact: %d, %v", len(byContact), err)
		}
		if err := s.IntegrityCheck(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	opts := store.Options{Driver: store.SQLite, Path: filepath.Join(t.TempDir(), "crm.db")}
	s, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	db, err := sql.Open("sqlite", opts.Path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future.sql', 'x')", store.LatestSchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	_, err = store.Open(ctx, opts)
	var tooNew *store.ErrSchemaTooNew
	if !errors.As(err, &tooNew) {
		t.Fatalf("open of newer schema: err = %v", err)
	}
	// Reopening an up-to-date database applies nothing and works.
	t.Run("postgres", func(t *testing.T) {
		o := testdb.Options(t, store.Postgres)
		for range 2 {
			s, err := store.Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := s.SchemaVersion(ctx)
			_ = s.Close()
			if v != store.LatestSchemaVersion() {
				t.Fatalf("version = %d", v)
			}
		}
	})
}

// TestConcurrentUpdatesNeverLose: writers racing on one version, exactly one
// wins and the others get a conflict.
func TestConcurrentUpdatesNeverLose(t *testing.T) {
	forEachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		id, _, err := s.Create(ctx, store.Write{Kind: store.Companies, Set: []store.Value{{Col: "name", V: "Race"}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		const writers = 8
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				errs[i] = s.Update(ctx, id, 1, store.Write{Kind: store.Companies, Set: []store.Value{{Col: "industry", V: string(rune('A' + i))}}})
			})
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			var c *store.ConflictError
			switch {
			case err == nil && won == -1:
				won = i
			case err == nil:
				t.Fatalf("writers %d and %d both updated version 1", won, i)
			case !errors.As(err, &c):
				t.Fatalf("writer %d: %v", i, err)
			}
		}
		c, _ := s.Company(ctx, id)
		if won == -1 || c.Version != 2 || c.Industry != string(rune('A'+won)) {
			t.Fatalf("winner %d, company %+v", won, c)
		}
	})
}
