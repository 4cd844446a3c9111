// Package testdb gives tests a fresh, isolated CRM database on each back
// end: a SQLite file in a temporary directory, or a PostgreSQL schema of its
// own on the server at 127.0.0.1:5432 that is dropped afterwards.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for schema setup

	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// BaseDSN is the PostgreSQL the tests use; MCPFLEET_TEST_POSTGRES_DSN
// overrides it.
func BaseDSN() string {
	if v := os.Getenv("MCPFLEET_TEST_POSTGRES_DSN"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Drivers lists the back ends every store test runs against.
var Drivers = []string{store.SQLite, store.Postgres}

// PostgresDSN creates a schema of its own for the test and returns a DSN
// whose search_path points at it. Without a reachable server the test is
// skipped, unless CI=true, where it fails.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := BaseDSN()
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is unreachable (CI=true requires it): %v", base, err)
		}
		t.Skipf("PostgreSQL is not reachable at %s (start it, or set MCPFLEET_TEST_POSTGRES_DSN): %v", base, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "crm_test_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = db.Close()
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
		_ = db.Close()
	})
	return base + "&search_path=" + schema
}

// Options returns store options for a fresh database on driver.
func Options(t testing.TB, driver string) store.Options {
	t.Helper()
	switch driver {
	case store.SQLite:
		return store.Options{Driver: store.SQLite, Path: filepath.Join(t.TempDir(), "crm.db")}
	case store.Postgres:
		return store.Options{Driver: store.Postgres, DSN: PostgresDSN(t)}
	}
	t.Fatalf("unknown driver %q", driver)
	return store.Options{}
}

// Open opens a fresh, migrated store on driver, closed when the test ends.
func Open(t testing.TB, driver string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), Options(t, driver))
	if err != nil {
		t.Fatalf("opening %s store: %v", driver, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
