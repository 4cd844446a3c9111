package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// DealContact links a deal to a contact involved in it.
type DealContact struct {
	DealID    int64
	ContactID int64
}

// EachOwner visits every owner in id order; see [Store.EachCompany].
func (s *Store) EachOwner(ctx context.Context, fn func(Owner) error) error {
	return forEach(ctx, s, ownersTable, func(o Owner) int64 { return o.ID }, fn)
}

// EachActivity visits every activity in id order; see [Store.EachCompany].
func (s *Store) EachActivity(ctx context.Context, fn func(Activity) error) error {
	return forEach(ctx, s, activitiesTable, func(a Activity) int64 { return a.ID }, fn)
}

// EachDealContact visits every deal-contact link, by deal and then contact.
func (s *Store) EachDealContact(ctx context.Context, fn func(DealContact) error) error {
	var after DealContact
	for {
		rs, err := s.query(ctx, nil, `SELECT deal_id, contact_id FROM deal_contacts
			WHERE deal_id > ? OR (deal_id = ? AND contact_id > ?) ORDER BY deal_id, contact_id LIMIT 1000`,
			after.DealID, after.DealID, after.ContactID)
		if err != nil {
			return err
		}
		var batch []DealContact
		for rs.Next() {
			var l DealContact
			if err := rs.Scan(&l.DealID, &l.ContactID); err != nil {
				rs.Close()
				return err
			}
			batch = append(batch, l)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		for _, l := range batch {
			if err := fn(l); err != nil {
				return err
			}
			after = l
		}
		if len(batch) < 1000 {
			return nil
		}
	}
}

// ErrNotEmpty is returned by Restore when the database already holds
// records: a restore keeps every id, which would collide.
var ErrNotEmpty = errors.New("the database is not empty; restore into a fresh database")

// restoreTables are the tables a restore fills, in an order that satisfies
// every foreign key.
var restoreTables = []string{"owners", "companies", "contacts", "deals", "deal_contacts", "activities"}

// Restore inserts records exactly as they were exported (ids, versions and
// timestamps kept) into an empty database, in one transaction: next returns
// an [Owner], [Company], [Contact], [Deal], [DealContact] or [Activity]
// until it returns nil. Records must come parents first (as the export
// writes them). It returns how many rows each table received.
func (s *Store) Restore(ctx context.Context, next func() (any, error)) (map[string]int, error) {
	counts := map[string]int{}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, t := range restoreTables {
			var n int64
			if err := s.queryRow(ctx, tx, "SELECT COUNT(*) FROM "+t).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return ErrNotEmpty
			}
		}
		for {
			rec, err := next()
			if err != nil {
				return err
			}
			if rec == nil {
				break
			}
			table, cols, vals, err := restoreRow(rec)
			if err != nil {
				return err
			}
			q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" + placeholders(len(cols)) + ")"
			if _, err := s.exec(ctx, tx, q, vals...); err != nil {
				return fmt.Errorf("restoring %s row %d: %w", table, counts[table]+1, err)
			}
			counts[table]++
		}
		if s.d.name() == Postgres {
			// Explicit ids leave the identity sequences behind; the next
			// created record must get the next free id.
			for _, t := range restoreTables {
				if t == "deal_contacts" {
					continue
				}
				q := "SELECT setval(pg_get_serial_sequence('" + t + "', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM " + t
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return fmt.Errorf("restoring %s: resetting its id sequence: %w", t, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

func restoreRow(rec any) (table string, cols []string, vals []any, err error) {
	meta := func(m Meta) []any { return []any{m.ID, m.Version, m.CreatedAt, m.UpdatedAt} }
	props := func(p map[string]any) (any, error) { return value(p) }
	switch r := rec.(type) {
	case Owner:
		return "owners", append(metaCols[:4:4], "name", "email"), append(meta(r.Meta), r.Name, r.Email), nil
	case Company:
		p, err := props(r.Properties)
		return "companies", companiesTable.cols, append(meta(r.Meta), r.Name, r.Domain, r.Industry, optionalID(r.OwnerID), p), err
	case Contact:
		p, err := props(r.Properties)
		return "contacts", contactsTable.cols, append(meta(r.Meta), r.FirstName, r.LastName, r.Email, r.Phone, r.Title,
			optionalID(r.CompanyID), optionalID(r.OwnerID), p), err
	case Deal:
		p, err := props(r.Properties)
		var closed any
		if r.ClosedAt != nil {
			closed = *r.ClosedAt
		}
		return "deals", dealsTable.cols, append(meta(r.Meta), r.Name, r.Pipeline, r.Stage, r.Status, r.AmountMinor, r.Currency,
			r.CloseDate, optionalID(r.CompanyID), optionalID(r.OwnerID), closed, p), err
	case DealContact:
		return "deal_contacts", []string{"deal_id", "contact_id"}, []any{r.DealID, r.ContactID}, nil
	case Activity:
		return "activities", activitiesTable.cols, append(meta(r.Meta), r.Kind, r.Subject, r.Body, r.OccurredAt, r.DueDate, r.Done,
			optionalID(r.CompanyID), optionalID(r.ContactID), optionalID(r.DealID), optionalID(r.OwnerID)), nil
	}
	return "", nil, nil, fmt.Errorf("store: cannot restore a %T", rec)
}

// optionalID turns an optional reference into a column value.
func optionalID(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}
