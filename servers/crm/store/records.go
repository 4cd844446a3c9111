package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind names an object type; it is also the table name.
type Kind string

// Object kinds.
const (
	Owners     Kind = "owners"
	Companies  Kind = "companies"
	Contacts   Kind = "contacts"
	Deals      Kind = "deals"
	Activities Kind = "activities"
)

// Kinds lists every kind.
var Kinds = []Kind{Owners, Companies, Contacts, Deals, Activities}

// Singular is the kind's name for one record ("contact").
func (k Kind) Singular() string {
	switch k {
	case Companies:
		return "company"
	case Activities:
		return "activity"
	}
	return strings.TrimSuffix(string(k), "s")
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// Meta is what every record carries.
type Meta struct {
	ID        int64
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RecordID returns the record's id.
func (m Meta) RecordID() int64 { return m.ID }

// Owner is a CRM user who owns records.
type Owner struct {
	Meta
	Name  string
	Email string
}

// Company is an organisation.
type Company struct {
	Meta
	Name       string
	Domain     string
	Industry   string
	OwnerID    *int64
	Properties map[string]any
}

// Contact is a person, optionally at a company.
type Contact struct {
	Meta
	FirstName  string
	LastName   string
	Email      string
	Phone      string
	Title      string
	CompanyID  *int64
	OwnerID    *int64
	Properties map[string]any
}

// Deal is an opportunity moving through a pipeline's stages.
type Deal struct {
	Meta
	Name        string
	Pipeline    string
	Stage       string
	Status      string // open, won or lost
	AmountMinor int64  // in the currency's minor unit (cents)
	Currency    string
	CloseDate   Date
	CompanyID   *int64
	OwnerID     *int64
	ClosedAt    *time.Time
	Properties  map[string]any
	// ContactIDs is filled by [Store.Deal] only.
	ContactIDs []int64
}

// Activity is a note, call, e-mail, meeting or task attached to records.
type Activity struct {
	Meta
	Kind       string
	Subject    string
	Body       string
	OccurredAt time.Time
	DueDate    Date
	Done       bool
	CompanyID  *int64
	ContactID  *int64
	DealID     *int64
	OwnerID    *int64
}

type scanner interface{ Scan(dest ...any) error }

// table knows how to read one kind into its Go type.
type table[T any] struct {
	kind Kind
	cols []string
	scan func(sc scanner) (T, error)
}

func (tb table[T]) selectList() string {
	parts := make([]string, len(tb.cols))
	for i, c := range tb.cols {
		parts[i] = "t." + c
	}
	return strings.Join(parts, ", ")
}

var metaCols = []string{"id", "version", "created_at", "updated_at"}

func metaDest(m *Meta) []any {
	return []any{&m.ID, &m.Version, sqlTime{&m.CreatedAt}, sqlTime{&m.UpdatedAt}}
}

// jsonProps scans the properties column.
type jsonProps struct{ m *map[string]any }

func (p jsonProps) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	case nil:
		*p.m = map[string]any{}
		return nil
	default:
		return fmt.Errorf("store: cannot scan %T as properties", src)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("store: bad properties: %w", err)
	}
	*p.m = m
	return nil
}

var ownersTable = table[Owner]{
	kind: Owners,
	cols: append(metaCols[:4:4], "name", "email"),
	scan: func(sc scanner) (Owner, error) {
		var o Owner
		err := sc.Scan(append(metaDest(&o.Meta), &o.Name, &o.Email)...)
		return o, err
	},
}

var companiesTable = table[Company]{
	kind: Companies,
	cols: append(metaCols[:4:4], "name", "domain", "industry", "owner_id", "properties"),
	scan: func(sc scanner) (Company, error) {
		var c Company
		err := sc.Scan(append(metaDest(&c.Meta), &c.Name, &c.Domain, &c.Industry, &c.OwnerID, jsonProps{&c.Properties})...)
		return c, err
	},
}

var contactsTable = table[Contact]{
	kind: Contacts,
	cols: append(metaCols[:4:4], "first_name", "last_name", "email", "phone", "title", "company_id", "owner_id", "properties"),
	scan: func(sc scanner) (Contact, error) {
		var c Contact
		err := sc.Scan(append(metaDest(&c.Meta), &c.FirstName, &c.LastName, &c.Email, &c.Phone, &c.Title,
			&c.CompanyID, &c.OwnerID, jsonProps{&c.Properties})...)
		return c, err
	},
}

var dealsTable = table[Deal]{
	kind: Deals,
	cols: append(metaCols[:4:4], "name", "pipeline", "stage", "status", "amount_minor", "currency", "close_date",
		"company_id", "owner_id", "closed_at", "properties"),
	scan: func(sc scanner) (Deal, error) {
		var d Deal
		err := sc.Scan(append(metaDest(&d.Meta), &d.Name, &d.Pipeline, &d.Stage, &d.Status, &d.AmountMinor, &d.Currency,
			sqlDate{&d.CloseDate}, &d.CompanyID, &d.OwnerID, nullTime{&d.ClosedAt}, jsonProps{&d.Properties})...)
		return d, err
	},
}

var activitiesTable = table[Activity]{
	kind: Activities,
	cols: append(metaCols[:4:4], "kind", "subject", "body", "occurred_at", "due_date", "done",
		"company_id", "contact_id", "deal_id", "owner_id"),
	scan: func(sc scanner) (Activity, error) {
		var a Activity
		err := sc.Scan(append(metaDest(&a.Meta), &a.Kind, &a.Subject, &a.Body, sqlTime{&a.OccurredAt}, sqlDate{&a.DueDate},
			&a.Done, &a.CompanyID, &a.ContactID, &a.DealID, &a.OwnerID)...)
		return a, err
	},
}

// get reads one record by id.
func (tb table[T]) get(ctx context.Context, s *Store, tx *sql.Tx, id int64) (T, error) {
	row := s.queryRow(ctx, tx, "SELECT "+tb.selectList()+" FROM "+string(tb.kind)+" t WHERE t.id = ?", id)
	v, err := tb.scan(row)
	if errors.Is(err, sql.ErrNoRows) {
		return v, &NotFoundError{Kind: tb.kind, ID: id}
	}
	return v, err
}

// list reads the records matching where (a condition on alias t, or "")
// in the given order.
func (tb table[T]) list(ctx context.Context, s *Store, tx *sql.Tx, from, where, order string, limit, offset int, args ...any) ([]T, error) {
	if from == "" {
		from = string(tb.kind) + " t"
	}
	q := "SELECT " + tb.selectList() + " FROM " + from
	if where != "" {
		q += " WHERE " + where
	}
	q += " ORDER BY " + order
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	if offset > 0 {
		q += fmt.Sprintf(" OFFSET %d", offset)
	}
	rows, err := s.query(ctx, tx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := tb.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Owner reads one owner.
func (s *Store) Owner(ctx context.Context, id int64) (Owner, error) {
	return ownersTable.get(ctx, s, nil, id)
}

// Company reads one company.
func (s *Store) Company(ctx context.Context, id int64) (Company, error) {
	return companiesTable.get(ctx, s, nil, id)
}

// Contact reads one contact.
func (s *Store) Contact(ctx context.Context, id int64) (Contact, error) {
	return contactsTable.get(ctx, s, nil, id)
}

// Activity reads one activity.
func (s *Store) Activity(ctx context.Context, id int64) (Activity, error) {
	return activitiesTable.get(ctx, s, nil, id)
}

// Deal reads one deal with its contact ids.
func (s *Store) Deal(ctx context.Context, id int64) (Deal, error) {
	var d Deal
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		if d, err = dealsTable.get(ctx, s, tx, id); err != nil {
			return err
		}
		d.ContactIDs, err = s.dealContactIDs(ctx, tx, id)
		return err
	})
	return d, err
}

func (s *Store) dealContactIDs(ctx context.Context, tx *sql.Tx, dealID int64) ([]int64, error) {
	rows, err := s.query(ctx, tx, "SELECT contact_id FROM deal_contacts WHERE deal_id = ? ORDER BY contact_id", dealID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Related is what is linked to a record, for the record views.
type Related struct {
	Company    *Company
	Contacts   []Contact
	Deals      []Deal
	Activities []Activity
	// MoreContacts and MoreDeals say the lists were cut at the limit.
	MoreContacts, MoreDeals bool
}

// Related reads the records linked to kind/id in one snapshot: for a
// company its contacts, deals and recent activities; for a contact its
// company, deals and activities; for a deal its company, contacts and
// activities. Each list holds at most limit records, newest activity first.
func (s *Store) Related(ctx context.Context, kind Kind, id int64, limit int) (Related, error) {
	var r Related
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var (
			companyID *int64
			err       error
		)
		switch kind {
		case Companies:
			r.Contacts, err = contactsTable.list(ctx, s, tx, "", "t.company_id = ?", "t.id", limit+1, 0, id)
			if err == nil {
				r.Deals, err = dealsTable.list(ctx, s, tx, "", "t.company_id = ?", "t.id DESC", limit+1, 0, id)
			}
		case Contacts:
			var c Contact
			if c, err = contactsTable.get(ctx, s, tx, id); err == nil {
				companyID = c.CompanyID
				r.Deals, err = dealsTable.list(ctx, s, tx, "deals t JOIN deal_contacts dc ON dc.deal_id = t.id",
					"dc.contact_id = ?", "t.id DESC", limit+1, 0, id)
			}
		case Deals:
			var d Deal
			if d, err = dealsTable.get(ctx, s, tx, id); err == nil {
				companyID = d.CompanyID
				r.Contacts, err = contactsTable.list(ctx, s, tx, "contacts t JOIN deal_contacts dc ON dc.contact_id = t.id",
					"dc.deal_id = ?", "t.id", limit+1, 0, id)
			}
		default:
			return fmt.Errorf("store: no related records for %s", kind)
		}
		if err != nil {
			return err
		}
		if companyID != nil {
			c, err := companiesTable.get(ctx, s, tx, *companyID)
			if err != nil {
				return err
			}
			r.Company = &c
		}
		r.Contacts, r.MoreContacts = cut(r.Contacts, limit)
		r.Deals, r.MoreDeals = cut(r.Deals, limit)
		col := map[Kind]string{Companies: "company_id", Contacts: "contact_id", Deals: "deal_id"}[kind]
		r.Activities, err = activitiesTable.list(ctx, s, tx, "", "t."+col+" = ?", "t.occurred_at DESC, t.id DESC", limit, 0, id)
		return err
	})
	return r, err
}

func cut[T any](list []T, limit int) ([]T, bool) {
	if len(list) > limit {
		return list[:limit], true
	}
	return list, false
}

// Counts returns the number of records of each kind.
func (s *Store) Counts(ctx context.Context) (map[Kind]int64, error) {
	out := map[Kind]int64{}
	for _, k := range Kinds {
		var n int64
		if err := s.reads.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+string(k)).Scan(&n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, nil
}
