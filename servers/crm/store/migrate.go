package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFS embed.FS

// migration is one numbered schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the dialect's steps in order. File names are
// NNNN_description.sql; the number is the schema version after the step.
func migrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("store: migration file %s is not NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(migrationFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("store: migrations must be numbered 1, 2, 3...; found %s at position %d", m.name, i+1)
		}
	}
	return out, nil
}

// LatestSchemaVersion is the schema version this binary migrates to.
func LatestSchemaVersion() int {
	ms, err := migrations(SQLite)
	if err != nil {
		return 0
	}
	return len(ms)
}

// ErrSchemaTooNew is returned by Open for a database migrated by a newer
// binary: running old code against it could corrupt data.
type ErrSchemaTooNew struct{ Database, Binary int }

func (e *ErrSchemaTooNew) Error() string {
	return fmt.Sprintf("store: database schema is at version %d but this binary knows only up to %d; upgrade mcp-crm (refusing to run against a newer schema)", e.Database, e.Binary)
}

// migrate applies pending migrations and their schema_migrations rows in
// one transaction (both back ends have transactional DDL), so a crash
// mid-way leaves the previous version intact.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations(s.d.name())
	if err != nil {
		return err
	}
	create := "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
	if _, err := s.writes.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("store: creating schema_migrations: %w", err)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if s.d.name() == Postgres {
			// Replicas starting together migrate one at a time.
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(727274)"); err != nil {
				return fmt.Errorf("store: migration lock: %w", err)
			}
		}
		var current int
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
			return fmt.Errorf("store: reading schema version: %w", err)
		}
		if current > len(ms) {
			return &ErrSchemaTooNew{Database: current, Binary: len(ms)}
		}
		for _, m := range ms[current:] {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("store: migration %s: %w", m.name, err)
			}
			if _, err := s.exec(ctx, tx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, time.Now().UTC().Format(time.RFC3339)); err != nil {
				return fmt.Errorf("store: recording migration %s: %w", m.name, err)
			}
			s.logger.Info("applied schema migration", "version", m.version, "name", m.name, "driver", s.d.name())
		}
		return nil
	})
}

// SchemaVersion returns the database's current schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.reads.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v)
	return v, err
}
