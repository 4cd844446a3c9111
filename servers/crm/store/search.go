package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// SearchQuery selects records of one kind.
type SearchQuery struct {
	Kind Kind
	// Text is free text; when set, results are ranked by relevance and
	// paged by Offset. Without it they are in id order and paged by AfterID.
	Text string
	// Filters; zero values do not filter. Each applies only to kinds that
	// have the column (see [FilterApplies]).
	OwnerID      int64
	CompanyID    int64
	ContactID    int64
	DealID       int64
	Pipeline     string
	Stage        string
	Status       string
	ActivityKind string
	Limit        int
	Offset       int
	AfterID      int64
}

// filterCols maps filter names to the column each filters on, per kind.
var filterCols = map[Kind]map[string]string{
	Owners:     {},
	Companies:  {"owner_id": "t.owner_id"},
	Contacts:   {"owner_id": "t.owner_id", "company_id": "t.company_id", "deal_id": "dc.deal_id"},
	Deals:      {"owner_id": "t.owner_id", "company_id": "t.company_id", "contact_id": "dc.contact_id", "pipeline": "t.pipeline", "stage": "t.stage", "status": "t.status"},
	Activities: {"owner_id": "t.owner_id", "company_id": "t.company_id", "contact_id": "t.contact_id", "deal_id": "t.deal_id", "activity_kind": "t.kind"},
}

// FilterApplies reports whether a filter (by its snake_case name) applies
// to kind.
func FilterApplies(kind Kind, filter string) bool {
	_, ok := filterCols[kind][filter]
	return ok
}

// ErrNoSearchWords says free text held nothing searchable.
var ErrNoSearchWords = errors.New("the query has no letters or digits to search for")

// SearchOwners, SearchCompanies, SearchContacts, SearchDeals and
// SearchActivities return one page of matches and whether more follow.
func (s *Store) SearchOwners(ctx context.Context, q SearchQuery) ([]Owner, bool, error) {
	q.Kind = Owners
	return search(ctx, s, ownersTable, q)
}

// SearchCompanies: see [Store.SearchOwners].
func (s *Store) SearchCompanies(ctx context.Context, q SearchQuery) ([]Company, bool, error) {
	q.Kind = Companies
	return search(ctx, s, companiesTable, q)
}

// SearchContacts: see [Store.SearchOwners].
func (s *Store) SearchContacts(ctx context.Context, q SearchQuery) ([]Contact, bool, error) {
	q.Kind = Contacts
	return search(ctx, s, contactsTable, q)
}

// SearchDeals: see [Store.SearchOwners].
func (s *Store) SearchDeals(ctx context.Context, q SearchQuery) ([]Deal, bool, error) {
	q.Kind = Deals
	return search(ctx, s, dealsTable, q)
}

// SearchActivities: see [Store.SearchOwners].
func (s *Store) SearchActivities(ctx context.Context, q SearchQuery) ([]Activity, bool, error) {
	q.Kind = Activities
	return search(ctx, s, activitiesTable, q)
}

func search[T any](ctx context.Context, s *Store, tb table[T], q SearchQuery) ([]T, bool, error) {
	if q.Limit <= 0 {
		return nil, false, fmt.Errorf("store: search limit must be positive")
	}
	cols := filterCols[tb.kind]
	var (
		conds []string
		args  []any
	)
	from := string(tb.kind) + " t"
	order := "t.id"
	add := func(name string, set bool, v any) error {
		if !set {
			return nil
		}
		col, ok := cols[name]
		if !ok {
			return fmt.Errorf("store: filter %s does not apply to %s", name, tb.kind)
		}
		conds = append(conds, col+" = ?")
		args = append(args, v)
		return nil
	}
	if q.Text != "" {
		words := Words(q.Text)
		if len(words) == 0 {
			return nil, false, ErrNoSearchWords
		}
		if tb.kind == Owners {
			// A handful of rows: substring match is enough.
			for _, w := range words {
				conds = append(conds, "(lower(t.name) LIKE ? OR lower(t.email) LIKE ?)")
				args = append(args, "%"+w+"%", "%"+w+"%")
			}
		} else {
			var where, rank string
			from, where, rank = s.d.searchFrom(string(tb.kind))
			args = append(args, s.d.ftsQuery(words))
			conds = append(conds, where)
			order = rank + ", t.id"
		}
	}
	// deal_contacts joins in only when filtering through it.
	switch {
	case tb.kind == Contacts && q.DealID != 0:
		from += " JOIN deal_contacts dc ON dc.contact_id = t.id"
	case tb.kind == Deals && q.ContactID != 0:
		from += " JOIN deal_contacts dc ON dc.deal_id = t.id"
	}
	for _, f := range []struct {
		name string
		set  bool
		v    any
	}{
		{"owner_id", q.OwnerID != 0, q.OwnerID},
		{"company_id", q.CompanyID != 0, q.CompanyID},
		{"contact_id", q.ContactID != 0, q.ContactID},
		{"deal_id", q.DealID != 0, q.DealID},
		{"pipeline", q.Pipeline != "", q.Pipeline},
		{"stage", q.Stage != "", q.Stage},
		{"status", q.Status != "", q.Status},
		{"activity_kind", q.ActivityKind != "", q.ActivityKind},
	} {
		if err := add(f.name, f.set, f.v); err != nil {
			return nil, false, err
		}
	}
	limit, offset := q.Limit+1, 0
	if q.Text != "" {
		offset = q.Offset
		if page := s.d.rankedPage(string(tb.kind)); page != "" && len(conds) == 1 && tb.kind != Owners {
			from, conds, order = page, nil, "m.rank, t.id"
			args = append(args, limit, offset)
			limit, offset = 0, 0
		}
	} else if q.AfterID > 0 {
		conds = append(conds, "t.id > ?")
		args = append(args, q.AfterID)
	}
	items, err := tb.list(ctx, s, nil, from, strings.Join(conds, " AND "), order, limit, offset, args...)
	if err != nil {
		return nil, false, fmt.Errorf("store: searching %s: %w", tb.kind, err)
	}
	items, more := cut(items, q.Limit)
	return items, more, nil
}

// TaskQuery selects open tasks.
type TaskQuery struct {
	// OverdueBefore, when set, keeps only tasks due before this date.
	OverdueBefore Date
	OwnerID       int64
	Limit         int
	Offset        int
}

// OpenTasks lists tasks not yet done, soonest due first (undated last).
func (s *Store) OpenTasks(ctx context.Context, q TaskQuery) ([]Activity, bool, error) {
	conds := []string{"t.kind = 'task'", "t.done = ?"}
	args := []any{false}
	if q.OverdueBefore != "" {
		conds = append(conds, "t.due_date < ?")
		args = append(args, q.OverdueBefore)
	}
	if q.OwnerID != 0 {
		conds = append(conds, "t.owner_id = ?")
		args = append(args, q.OwnerID)
	}
	items, err := activitiesTable.list(ctx, s, nil, "", strings.Join(conds, " AND "),
		"CASE WHEN t.due_date IS NULL THEN 1 ELSE 0 END, t.due_date, t.id", q.Limit+1, q.Offset, args...)
	if err != nil {
		return nil, false, err
	}
	items, more := cut(items, q.Limit)
	return items, more, nil
}

// ForEach calls fn for every record of a table in id order, reading in
// batches so memory stays flat (CSV export).
func forEach[T any](ctx context.Context, s *Store, tb table[T], id func(T) int64, fn func(T) error) error {
	var after int64
	for {
		batch, err := tb.list(ctx, s, nil, "", "t.id > ?", "t.id", 1000, 0, after)
		if err != nil {
			return err
		}
		for _, v := range batch {
			if err := fn(v); err != nil {
				return err
			}
			after = id(v)
		}
		if len(batch) < 1000 {
			return nil
		}
	}
}

// EachCompany, EachContact and EachDeal visit every record in id order.
func (s *Store) EachCompany(ctx context.Context, fn func(Company) error) error {
	return forEach(ctx, s, companiesTable, func(c Company) int64 { return c.ID }, fn)
}

// EachContact: see [Store.EachCompany].
func (s *Store) EachContact(ctx context.Context, fn func(Contact) error) error {
	return forEach(ctx, s, contactsTable, func(c Contact) int64 { return c.ID }, fn)
}

// EachDeal: see [Store.EachCompany].
func (s *Store) EachDeal(ctx context.Context, fn func(Deal) error) error {
	return forEach(ctx, s, dealsTable, func(d Deal) int64 { return d.ID }, fn)
}
