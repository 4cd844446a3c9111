// Package store persists the CRM: companies, contacts, deals, activities and
// owners, in embedded SQLite (modernc.org/sqlite, pure Go) or PostgreSQL
// (pgx). Both back ends run the same queries apart from a small dialect
// layer (placeholders, full-text search, date and time types), so the CRM
// behaves the same on either.
//
// Every write runs in one transaction. Updates are guarded by a version
// column (optimistic concurrency): a stale update is a [ConflictError], never
// a lost update. Creates may carry an idempotency key so that a retried call
// returns the record the first call made.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// Drivers.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Options select and configure the back end.
type Options struct {
	// Driver is SQLite or Postgres.
	Driver string
	// Path is the SQLite database file.
	Path string
	// DSN is the PostgreSQL connection string (URL or key=value form).
	DSN string
	// Synchronous is SQLite's synchronous pragma: "full" (default) or
	// "normal". See the package README for the durability trade-off.
	Synchronous string
	// MaxOpenConns caps the PostgreSQL pool and the SQLite reader pool; 0
	// picks a default.
	MaxOpenConns int
	// Logger receives migration messages; nil discards them.
	Logger *slog.Logger
}

// Store is an open CRM database. It is safe for concurrent use.
type Store struct {
	d dialect
	// reads serves queries. For SQLite it is a pool of read connections
	// (WAL lets readers run beside the writer).
	reads *sql.DB
	// writes serves transactions that write. For SQLite it holds exactly one
	// connection, so writers queue in Go instead of spinning on SQLITE_BUSY.
	// For PostgreSQL it is the same pool as reads.
	writes *sql.DB
	logger *slog.Logger
}

// Open connects, applies pending migrations and returns the store. It
// refuses a database whose schema is newer than this binary knows.
func Open(ctx context.Context, o Options) (*Store, error) {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{logger: logger}
	var err error
	switch o.Driver {
	case SQLite:
		err = s.openSQLite(o)
	case Postgres:
		err = s.openPostgres(o)
	default:
		return nil, fmt.Errorf("store: unknown driver %q (want %s or %s)", o.Driver, SQLite, Postgres)
	}
	if err != nil {
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("store: connecting to %s: %w", o.Driver, err)
	}
	if err := s.migrate(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) openSQLite(o Options) error {
	if o.Path == "" {
		return errors.New("store: sqlite needs a database path")
	}
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o750); err != nil {
		return fmt.Errorf("store: creating data directory: %w", err)
	}
	sync := strings.ToUpper(o.Synchronous)
	switch sync {
	case "":
		sync = "FULL"
	case "FULL", "NORMAL":
	default:
		return fmt.Errorf("store: sqlite synchronous %q is not full or normal", o.Synchronous)
	}
	dsn := func(extra ...string) string {
		q := url.Values{}
		for _, p := range append([]string{"journal_mode(WAL)", "foreign_keys(1)", "busy_timeout(5000)", "synchronous(" + sync + ")"}, extra...) {
			q.Add("_pragma", p)
		}
		return "file:" + filepath.ToSlash(o.Path) + "?" + q.Encode()
	}
	// Write transactions take the write lock at BEGIN, so two writers never
	// both hold read locks and deadlock on the upgrade.
	// A 64 MiB page cache keeps a large import from spilling pages to the
	// WAL mid-transaction (the default 2 MiB made CSV import I/O-bound).
	w, err := sql.Open("sqlite", dsn("cache_size(-65536)")+"&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("store: opening sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	// Readers cannot write by accident: query_only turns writes into errors.
	r, err := sql.Open("sqlite", dsn("query_only(1)", "cache_size(-16384)"))
	if err != nil {
		_ = w.Close()
		return fmt.Errorf("store: opening sqlite: %w", err)
	}
	n := o.MaxOpenConns
	if n <= 0 {
		n = 4
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.d, s.reads, s.writes = sqliteDialect{}, r, w
	return nil
}

func (s *Store) openPostgres(o Options) error {
	if o.DSN == "" {
		return errors.New("store: postgres needs a dsn")
	}
	db, err := sql.Open("pgx", o.DSN)
	if err != nil {
		return fmt.Errorf("store: opening postgres: %w", err)
	}
	n := o.MaxOpenConns
	if n <= 0 {
		n = 10
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(30 * time.Minute)
	s.d, s.reads, s.writes = postgresDialect{}, db, db
	return nil
}

// Driver returns SQLite or Postgres.
func (s *Store) Driver() string { return s.d.name() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.reads.PingContext(ctx); err != nil {
		return err
	}
	if s.writes != s.reads {
		return s.writes.PingContext(ctx)
	}
	return nil
}

// Close closes every connection. It is safe to call more than once.
func (s *Store) Close() error {
	if s == nil || s.reads == nil {
		return nil
	}
	err := s.reads.Close()
	if s.writes != s.reads {
		err = errors.Join(err, s.writes.Close())
	}
	return err
}

// IntegrityCheck runs SQLite's integrity_check (and the FTS indexes'
// own check); on PostgreSQL it only pings. It is what the crash test and
// operators use to confirm a database opens clean.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	if s.d.name() != SQLite {
		return s.Ping(ctx)
	}
	var res string
	if err := s.reads.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return err
	}
	if res != "ok" {
		return fmt.Errorf("integrity_check: %s", res)
	}
	for _, t := range []string{"contacts_fts", "companies_fts", "deals_fts", "activities_fts"} {
		if _, err := s.writes.ExecContext(ctx, "INSERT INTO "+t+"("+t+") VALUES ('integrity-check')"); err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
	}
	return nil
}

// exec runs a statement on tx with the dialect's placeholders and argument
// conversions.
func (s *Store) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	return tx.ExecContext(ctx, s.d.rebind(q), s.args(args)...)
}

// query runs a read on tx, or on the read pool when tx is nil.
func (s *Store) query(ctx context.Context, tx *sql.Tx, q string, args ...any) (*sql.Rows, error) {
	if tx != nil {
		return tx.QueryContext(ctx, s.d.rebind(q), s.args(args)...)
	}
	return s.reads.QueryContext(ctx, s.d.rebind(q), s.args(args)...)
}

func (s *Store) queryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	if tx != nil {
		return tx.QueryRowContext(ctx, s.d.rebind(q), s.args(args)...)
	}
	return s.reads.QueryRowContext(ctx, s.d.rebind(q), s.args(args)...)
}

func (s *Store) args(in []any) []any {
	out := make([]any, len(in))
	for i, a := range in {
		out[i] = s.d.arg(a)
	}
	return out
}

// inTx runs fn in a write transaction and commits it; any error rolls back.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.writes.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// readTx runs fn in a read-only transaction so that several queries see one
// snapshot (a record and its associations).
func (s *Store) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.reads.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}
