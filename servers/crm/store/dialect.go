package store

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Date is a calendar date, "YYYY-MM-DD"; the empty Date is NULL.
type Date string

// timeLayout is fixed-width so that SQLite's text timestamps sort in time
// order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// dialect is everything that differs between the back ends. Queries are
// written once with "?" placeholders.
type dialect interface {
	name() string
	rebind(q string) string
	// arg converts a Go value (Date, time.Time) to what the driver stores.
	arg(v any) any
	// ftsQuery turns search words into the back end's query syntax.
	ftsQuery(words []string) string
	// searchFrom returns the FROM fragment (with the single "?" argument,
	// the query), WHERE condition and rank expression that restrict table
	// t (aliased "t") to matching rows; lower rank is better.
	searchFrom(table string) (from, where, rank string)
	// rankedPage returns a FROM fragment that selects one page of the best
	// matches (arguments: query, limit, offset) joined to table t, ordered
	// by "m.rank, t.id", or "" when the back end has no faster form than
	// searchFrom. Used only when no other filter applies.
	rankedPage(table string) string
	// period groups a date column by month or quarter.
	period(col, unit string) string
	isUniqueViolation(err error) bool
}

type sqliteDialect struct{}

func (sqliteDialect) name() string           { return SQLite }
func (sqliteDialect) rebind(q string) string { return q }

func (sqliteDialect) arg(v any) any {
	switch v := v.(type) {
	case Date:
		if v == "" {
			return nil
		}
		return string(v)
	case time.Time:
		return v.UTC().Format(timeLayout)
	case *time.Time:
		if v == nil {
			return nil
		}
		return v.UTC().Format(timeLayout)
	}
	return v
}

// ftsQuery quotes every word as an FTS5 string with a prefix star, so no
// input can reach FTS5's query syntax (NEAR, column filters, operators).
func (sqliteDialect) ftsQuery(words []string) string {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"*`
	}
	return strings.Join(parts, " ")
}

func (sqliteDialect) searchFrom(table string) (string, string, string) {
	fts := table + "_fts"
	return table + " t JOIN " + fts + " ON " + fts + ".rowid = t.id AND " + fts + " MATCH ?", "1 = 1", "bm25(" + fts + ")"
}

// rankedPage lets FTS5 sort by its own rank column (bm25) and join only the
// page to the table: for a common word this is several times faster than
// joining every match and sorting on bm25() afterwards.
func (sqliteDialect) rankedPage(table string) string {
	fts := table + "_fts"
	return "(SELECT rowid AS id, rank FROM " + fts + " WHERE " + fts + " MATCH ? ORDER BY rank LIMIT ? OFFSET ?) m JOIN " + table + " t ON t.id = m.id"
}

func (sqliteDialect) period(col, unit string) string {
	if unit == "quarter" {
		return "substr(" + col + ", 1, 4) || '-Q' || ((CAST(substr(" + col + ", 6, 2) AS INTEGER) + 2) / 3)"
	}
	return "substr(" + col + ", 1, 7)"
}

func (sqliteDialect) isUniqueViolation(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

type postgresDialect struct{}

func (postgresDialect) name() string { return Postgres }

// rebind numbers the placeholders. Queries never contain "?" inside string
// literals, which keeps this simple.
func (postgresDialect) rebind(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (postgresDialect) arg(v any) any {
	switch v := v.(type) {
	case Date:
		if v == "" {
			return nil
		}
		t, err := time.Parse(time.DateOnly, string(v))
		if err != nil {
			// Validated before it gets here; let the server reject it.
			return string(v)
		}
		return t
	case time.Time:
		return v.UTC()
	}
	return v
}

// ftsQuery builds a tsquery of prefix terms joined by AND. Words hold only
// letters and digits (see Words), so nothing reaches tsquery's operators.
func (postgresDialect) ftsQuery(words []string) string {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = w + ":*"
	}
	return strings.Join(parts, " & ")
}

func (postgresDialect) searchFrom(table string) (string, string, string) {
	return table + " t, to_tsquery('simple', ?) q", "t.search @@ q", "-ts_rank(t.search, q)"
}

func (postgresDialect) rankedPage(string) string { return "" }

func (postgresDialect) period(col, unit string) string {
	if unit == "quarter" {
		return "to_char(" + col + ", 'YYYY-\"Q\"Q')"
	}
	return "to_char(" + col + ", 'YYYY-MM')"
}

func (postgresDialect) isUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// maxSearchWords bounds the work one query can ask for.
const maxSearchWords = 8

// Words splits free text into the lower-case words search matches on:
// runs of letters and digits. Everything else (quotes, operators, control
// characters) is a separator, so hostile input is just fewer words.
func Words(text string) []string {
	var words []string
	for f := range strings.FieldsFuncSeq(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len(words) == maxSearchWords {
			break
		}
		if len(f) > 64 {
			f = f[:64]
		}
		words = append(words, strings.ToLower(f))
	}
	return words
}

// sqlTime scans a timestamp stored as text (SQLite) or timestamptz.
type sqlTime struct{ t *time.Time }

func (s sqlTime) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*s.t = v.UTC()
	case string:
		return s.parse(v)
	case []byte:
		return s.parse(string(v))
	default:
		return fmt.Errorf("store: cannot scan %T as a time", src)
	}
	return nil
}

func (s sqlTime) parse(v string) error {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return fmt.Errorf("store: bad timestamp %q: %w", v, err)
	}
	*s.t = t.UTC()
	return nil
}

// nullTime scans a nullable timestamp.
type nullTime struct{ t **time.Time }

func (s nullTime) Scan(src any) error {
	if src == nil {
		*s.t = nil
		return nil
	}
	var t time.Time
	if err := (sqlTime{&t}).Scan(src); err != nil {
		return err
	}
	*s.t = &t
	return nil
}

// sqlDate scans a nullable date stored as text (SQLite) or DATE.
type sqlDate struct{ d *Date }

func (s sqlDate) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.d = ""
	case time.Time:
		*s.d = Date(v.Format(time.DateOnly))
	case string:
		*s.d = Date(v)
	case []byte:
		*s.d = Date(v)
	default:
		return fmt.Errorf("store: cannot scan %T as a date", src)
	}
	return nil
}
