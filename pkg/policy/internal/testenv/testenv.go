// Package testenv gives tests the local Redis and PostgreSQL, isolated per
// test: a random Redis key prefix deleted afterwards, a PostgreSQL schema
// created and dropped. When a service is unreachable a test fails under
// CI=true and is skipped elsewhere with a message saying what to start.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Addresses of the local services, overridable by environment.
var (
	RedisURL    = envOr("MCPFLEET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
	PostgresDSN = envOr("MCPFLEET_TEST_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true: %v", what, err)
	}
	t.Skipf("%s is not reachable (%v); start it to run this test", what, err)
}

// Random returns a short random hex string.
func Random() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Redis returns a client and a fresh key prefix; keys under the prefix
// (also with redis_rate's "rate:" in front) are deleted when the test ends.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	opts, err := redis.ParseURL(RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		unavailable(t, "Redis at "+RedisURL, err)
	}
	prefix := "mcpfleet-test:" + Random() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		for _, pattern := range []string{prefix + "*", "rate:" + prefix + "*"} {
			iter := c.Scan(ctx, 0, pattern, 100).Iterator()
			for iter.Next(ctx) {
				c.Del(ctx, iter.Val())
			}
		}
		c.Close()
	})
	return c, prefix
}

// Postgres returns a connection, a DSN whose search_path is a fresh
// schema, and the schema name. The schema is dropped when the test ends.
func Postgres(t testing.TB) (conn *pgx.Conn, dsn, schema string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, PostgresDSN)
	if err != nil {
		unavailable(t, "PostgreSQL at "+PostgresDSN, err)
	}
	schema = "mcpfleet_test_" + Random()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
		conn.Close(ctx)
	})
	sep := "?"
	if strings.Contains(PostgresDSN, "?") {
		sep = "&"
	}
	dsn = PostgresDSN + sep + "search_path=" + schema
	return conn, dsn, schema
}
