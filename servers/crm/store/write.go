package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Value is one column assignment of a write.
type Value struct {
	Col string
	V   any
}

// Write is the column assignments of a create or update.
type Write struct {
	Kind Kind
	Set  []Value
	// ReplaceContacts makes the write set a deal's contacts to ContactIDs.
	ReplaceContacts bool
	ContactIDs      []int64
}

// Idempotency identifies a create so that a retry returns the first result.
// Hash is a digest of the request: the same key with another request is an
// [IdempotencyConflictError].
//
// Scope is who the key belongs to (the caller's principal id): a key is
// only ever looked up within its scope, so one principal's key can
// neither replay nor reveal (through a conflict) another's record.
type Idempotency struct {
	Scope string
	Key   string
	Hash  string
}

// stored is the key as stored: a fingerprint of the scope, then the key.
// The column stays one text key (no migration), and the principal id
// itself is not written to the table.
func (i *Idempotency) stored() string {
	sum := sha256.Sum256([]byte(i.Scope))
	return hex.EncodeToString(sum[:8]) + ":" + i.Key
}

// writable lists the columns each kind accepts, so that a column name never
// comes from anywhere but this list.
var writable = map[Kind][]string{
	Owners:     {"name", "email"},
	Companies:  {"name", "domain", "industry", "owner_id", "properties"},
	Contacts:   {"first_name", "last_name", "email", "phone", "title", "company_id", "owner_id", "properties"},
	Deals:      {"name", "pipeline", "stage", "status", "amount_minor", "currency", "close_date", "company_id", "owner_id", "closed_at", "properties"},
	Activities: {"kind", "subject", "body", "occurred_at", "due_date", "done", "company_id", "contact_id", "deal_id", "owner_id"},
}

// references maps a column to the kind it points at.
var references = map[string]Kind{
	"owner_id":   Owners,
	"company_id": Companies,
	"contact_id": Contacts,
	"deal_id":    Deals,
}

func (w Write) check() error {
	cols, ok := writable[w.Kind]
	if !ok {
		return fmt.Errorf("store: cannot write %q", w.Kind)
	}
	for _, v := range w.Set {
		if !slices.Contains(cols, v.Col) {
			return fmt.Errorf("store: %s has no writable column %q", w.Kind, v.Col)
		}
	}
	if w.ReplaceContacts && w.Kind != Deals {
		return fmt.Errorf("store: only deals have contacts")
	}
	return nil
}

// value converts Go values the columns hold: properties maps become JSON.
func value(v any) (any, error) {
	if m, ok := v.(map[string]any); ok {
		if m == nil {
			m = map[string]any{}
		}
		b, err := json.Marshal(m)
		return string(b), err
	}
	return v, nil
}

// checkReferences makes sure every id a write points at exists, so the
// caller gets "company 7 not found" rather than a foreign key error.
func (s *Store) checkReferences(ctx context.Context, tx *sql.Tx, w Write) error {
	for _, v := range w.Set {
		kind, ok := references[v.Col]
		if !ok || v.V == nil {
			continue
		}
		id, ok := v.V.(int64)
		if !ok {
			return fmt.Errorf("store: %s must be an int64, not %T", v.Col, v.V)
		}
		if err := s.exists(ctx, tx, kind, id); err != nil {
			return err
		}
	}
	for _, id := range w.ContactIDs {
		if err := s.exists(ctx, tx, Contacts, id); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) exists(ctx context.Context, tx *sql.Tx, kind Kind, id int64) error {
	var one int
	err := s.queryRow(ctx, tx, "SELECT 1 FROM "+string(kind)+" WHERE id = ?", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return &NotFoundError{Kind: kind, ID: id}
	}
	return err
}

// Create inserts a record and returns its id. With idem set, a retry of the
// same request returns the first id and replayed=true.
// PurgeIdempotencyKeys forgets idempotency keys recorded before before, so
// the table does not grow forever; a retry with a forgotten key creates a
// new record. It returns how many keys were removed.
func (s *Store) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, "DELETE FROM idempotency_keys WHERE created_at < ?", before)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

func (s *Store) Create(ctx context.Context, w Write, idem *Idempotency) (id int64, replayed bool, err error) {
	if err := w.check(); err != nil {
		return 0, false, err
	}
	id, replayed, err = s.create(ctx, w, idem)
	if idem != nil && s.d.isUniqueViolation(err) {
		// A concurrent call with the same key committed first (PostgreSQL
		// blocks on the key's unique index until then): replay it.
		id, replayed, err = s.create(ctx, w, idem)
	}
	return id, replayed, err
}

func (s *Store) create(ctx context.Context, w Write, idem *Idempotency) (id int64, replayed bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if idem != nil {
			var hash string
			var recordID int64
			err := s.queryRow(ctx, tx, "SELECT request_hash, record_id FROM idempotency_keys WHERE kind = ? AND key = ?",
				string(w.Kind), idem.stored()).Scan(&hash, &recordID)
			switch {
			case err == nil && hash != idem.Hash:
				return &IdempotencyConflictError{Kind: w.Kind, Key: idem.Key, RecordID: recordID}
			case err == nil:
				if err := s.exists(ctx, tx, w.Kind, recordID); err != nil {
					return fmt.Errorf("idempotency key %q: %w (%s %d)", idem.Key, ErrReplayDeleted, w.Kind.Singular(), recordID)
				}
				id, replayed = recordID, true
				return nil
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		if err := s.checkReferences(ctx, tx, w); err != nil {
			return err
		}
		now := time.Now()
		cols := []string{"version", "created_at", "updated_at"}
		args := []any{int64(1), now, now}
		for _, v := range w.Set {
			val, err := value(v.V)
			if err != nil {
				return err
			}
			cols = append(cols, v.Col)
			args = append(args, val)
		}
		q := "INSERT INTO " + string(w.Kind) + " (" + strings.Join(cols, ", ") + ") VALUES (" + placeholders(len(cols)) + ") RETURNING id"
		if err := s.queryRow(ctx, tx, q, args...).Scan(&id); err != nil {
			return fmt.Errorf("store: inserting %s: %w", w.Kind.Singular(), err)
		}
		if w.ReplaceContacts {
			if err := s.setDealContacts(ctx, tx, id, w.ContactIDs); err != nil {
				return err
			}
		}
		if idem != nil {
			if _, err := s.exec(ctx, tx, "INSERT INTO idempotency_keys (kind, key, request_hash, record_id, created_at) VALUES (?, ?, ?, ?, ?)",
				string(w.Kind), idem.stored(), idem.Hash, id, now); err != nil {
				return err
			}
		}
		return nil
	})
	return id, replayed, err
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func (s *Store) setDealContacts(ctx context.Context, tx *sql.Tx, dealID int64, contactIDs []int64) error {
	if _, err := s.exec(ctx, tx, "DELETE FROM deal_contacts WHERE deal_id = ?", dealID); err != nil {
		return err
	}
	for _, cid := range contactIDs {
		if _, err := s.exec(ctx, tx, "INSERT INTO deal_contacts (deal_id, contact_id) VALUES (?, ?) ON CONFLICT DO NOTHING", dealID, cid); err != nil {
			return err
		}
	}
	return nil
}

// Update applies w to the record if it is still at version expected, and
// bumps the version. A record at another version is a [ConflictError].
func (s *Store) Update(ctx context.Context, id, expected int64, w Write) error {
	if err := w.check(); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkReferences(ctx, tx, w); err != nil {
			return err
		}
		sets := []string{"version = version + 1", "updated_at = ?"}
		args := []any{time.Now()}
		for _, v := range w.Set {
			val, err := value(v.V)
			if err != nil {
				return err
			}
			sets = append(sets, v.Col+" = ?")
			args = append(args, val)
		}
		args = append(args, id, expected)
		res, err := s.exec(ctx, tx, "UPDATE "+string(w.Kind)+" SET "+strings.Join(sets, ", ")+" WHERE id = ? AND version = ?", args...)
		if err != nil {
			return fmt.Errorf("store: updating %s %d: %w", w.Kind.Singular(), id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return s.versionError(ctx, tx, w.Kind, id, expected)
		}
		if w.ReplaceContacts {
			return s.setDealContacts(ctx, tx, id, w.ContactIDs)
		}
		return nil
	})
}

// versionError explains why a versioned statement matched no row.
func (s *Store) versionError(ctx context.Context, tx *sql.Tx, kind Kind, id, expected int64) error {
	var current int64
	err := s.queryRow(ctx, tx, "SELECT version FROM "+string(kind)+" WHERE id = ?", id).Scan(&current)
	if errors.Is(err, sql.ErrNoRows) {
		return &NotFoundError{Kind: kind, ID: id}
	}
	if err != nil {
		return err
	}
	return &ConflictError{Kind: kind, ID: id, Expected: expected, Current: current}
}

// Delete removes a record. With expected > 0 the record must still be at
// that version. Links to it are removed (a company's contacts and deals
// keep existing without a company; activities lose the link).
func (s *Store) Delete(ctx context.Context, kind Kind, id, expected int64) error {
	if !kind.Valid() {
		return fmt.Errorf("store: cannot delete %q", kind)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		q, args := "DELETE FROM "+string(kind)+" WHERE id = ?", []any{id}
		if expected > 0 {
			q, args = q+" AND version = ?", append(args, expected)
		}
		res, err := s.exec(ctx, tx, q, args...)
		if err != nil {
			return fmt.Errorf("store: deleting %s %d: %w", kind.Singular(), id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return s.versionError(ctx, tx, kind, id, expected)
		}
		return nil
	})
}

// ExistingIDs reports which of ids exist as kind.
func (s *Store) ExistingIDs(ctx context.Context, kind Kind, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	for batch := range slices.Chunk(ids, 500) {
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		rows, err := s.query(ctx, nil, "SELECT id FROM "+string(kind)+" WHERE id IN ("+placeholders(len(batch))+")", args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// BulkInsert inserts many records of one kind in a single transaction with
// multi-row INSERTs: all of them or none. The caller has validated the rows
// (references included); constraint violations still abort the whole batch.
// It returns the new ids in row order.
func (s *Store) BulkInsert(ctx context.Context, kind Kind, cols []string, rows [][]any) ([]int64, error) {
	if err := (Write{Kind: kind, Set: valuesFor(cols)}).check(); err != nil {
		return nil, err
	}
	allCols := append([]string{"version", "created_at", "updated_at"}, cols...)
	// Stay well under both back ends' limit on bound parameters.
	perStmt := max(1, 8000/len(allCols))
	ids := make([]int64, 0, len(rows))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := time.Now()
		for batch := range slices.Chunk(rows, perStmt) {
			var q strings.Builder
			q.WriteString("INSERT INTO " + string(kind) + " (" + strings.Join(allCols, ", ") + ") VALUES ")
			args := make([]any, 0, len(batch)*len(allCols))
			row := "(" + placeholders(len(allCols)) + ")"
			for i, r := range batch {
				if len(r) != len(cols) {
					return fmt.Errorf("store: row has %d values for %d columns", len(r), len(cols))
				}
				if i > 0 {
					q.WriteString(", ")
				}
				q.WriteString(row)
				args = append(args, int64(1), now, now)
				for _, v := range r {
					val, err := value(v)
					if err != nil {
						return err
					}
					args = append(args, val)
				}
			}
			q.WriteString(" RETURNING id")
			rs, err := s.query(ctx, tx, q.String(), args...)
			if err != nil {
				return fmt.Errorf("store: inserting %s: %w", kind, err)
			}
			for rs.Next() {
				var id int64
				if err := rs.Scan(&id); err != nil {
					rs.Close()
					return err
				}
				ids = append(ids, id)
			}
			rs.Close()
			if err := rs.Err(); err != nil {
				return fmt.Errorf("store: inserting %s: %w", kind, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

func valuesFor(cols []string) []Value {
	out := make([]Value, len(cols))
	for i, c := range cols {
		out[i] = Value{Col: c}
	}
	return out
}

// LinkDealContacts adds deal-contact links in bulk (demo data, imports).
func (s *Store) LinkDealContacts(ctx context.Context, links [][2]int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, l := range links {
			if _, err := s.exec(ctx, tx, "INSERT INTO deal_contacts (deal_id, contact_id) VALUES (?, ?) ON CONFLICT DO NOTHING", l[0], l[1]); err != nil {
				return err
			}
		}
		return nil
	})
}

// EnsureOwner returns the owner with email, creating it (or renaming it)
// as needed.
func (s *Store) EnsureOwner(ctx context.Context, name, email string) (Owner, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := time.Now()
		return s.queryRow(ctx, tx, `INSERT INTO owners (name, email, version, created_at, updated_at) VALUES (?, ?, 1, ?, ?)
			ON CONFLICT (email) DO UPDATE SET name = excluded.name RETURNING id`, name, email, now, now).Scan(&id)
	})
	if err != nil {
		return Owner{}, err
	}
	return s.Owner(ctx, id)
}
