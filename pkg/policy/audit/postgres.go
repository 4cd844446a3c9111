package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres appends records to a table, one transaction per batch. Every
// replica of a server shares one chain: a transaction-scoped advisory lock
// on (table, chain) serialises writers, and each batch continues from the
// last committed record, so a restarted sink carries on where the chain
// ends.
type Postgres struct {
	dsn            string
	table          pgx.Identifier
	chain          string
	connectTimeout time.Duration

	mu      sync.Mutex
	conn    *pgx.Conn
	created bool
}

// ParseTable splits "schema.table" (or "table") into an identifier.
func ParseTable(name string) (pgx.Identifier, error) {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return nil, fmt.Errorf("table %q: use table or schema.table", name)
	}
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("table %q: empty name part", name)
		}
	}
	return pgx.Identifier(parts), nil
}

// NewPostgres returns a backend writing to table. It connects on first
// use and reconnects after any error; the table is created if missing.
func NewPostgres(dsn, table, chain string) (*Postgres, error) {
	id, err := ParseTable(table)
	if err != nil {
		return nil, err
	}
	if _, err := pgx.ParseConfig(dsn); err != nil {
		// pgx's message does not include the password.
		return nil, fmt.Errorf("audit postgres dsn: %w", err)
	}
	return &Postgres{dsn: dsn, table: id, chain: chain, connectTimeout: 5 * time.Second}, nil
}

// Name implements Backend.
func (p *Postgres) Name() string { return "postgres:" + p.table.Sanitize() }

// CreateTableSQL is the DDL of an audit table.
func CreateTableSQL(table pgx.Identifier) string {
	t := table.Sanitize()
	return `CREATE TABLE IF NOT EXISTS ` + t + ` (
	chain     text        NOT NULL,
	seq       bigint      NOT NULL,
	time      timestamptz NOT NULL,
	server    text        NOT NULL,
	principal text        NOT NULL,
	tool      text        NOT NULL,
	decision  text        NOT NULL,
	outcome   text        NOT NULL,
	prev_hash text        NOT NULL,
	hash      text        NOT NULL,
	record    text        NOT NULL,
	PRIMARY KEY (chain, seq)
)`
}

func (p *Postgres) connect(ctx context.Context) (*pgx.Conn, error) {
	if p.conn != nil && !p.conn.IsClosed() {
		return p.conn, nil
	}
	cctx, cancel := context.WithTimeout(ctx, p.connectTimeout)
	defer cancel()
	conn, err := pgx.Connect(cctx, p.dsn)
	if err != nil {
		return nil, err
	}
	if !p.created {
		if _, err := conn.Exec(ctx, CreateTableSQL(p.table)); err != nil {
			conn.Close(context.Background())
			return nil, fmt.Errorf("creating audit table: %w", err)
		}
		p.created = true
	}
	p.conn = conn
	return conn, nil
}

// Append implements Backend.
func (p *Postgres) Append(ctx context.Context, recs []Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	conn, err := p.connect(ctx)
	if err != nil {
		return err
	}
	if err := p.append(ctx, conn, recs); err != nil {
		// The connection may be broken; start over on the next attempt.
		conn.Close(context.Background())
		p.conn = nil
		return err
	}
	return nil
}

func (p *Postgres) append(ctx context.Context, conn *pgx.Conn, recs []Record) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	t := p.table.Sanitize()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, t+"|"+p.chain); err != nil {
		return err
	}
	var (
		seq  int64
		prev string
	)
	err = tx.QueryRow(ctx, `SELECT seq, hash FROM `+t+` WHERE chain = $1 ORDER BY seq DESC LIMIT 1`, p.chain).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	rows := make([][]any, len(recs))
	for i := range recs {
		line, hash, err := Seal(recs[i], p.chain, seq+1, prev)
		if err != nil {
			return err
		}
		seq++
		recs[i].Chain, recs[i].Seq, recs[i].PrevHash = p.chain, seq, prev
		rows[i] = []any{p.chain, seq, recs[i].Time, recs[i].Server, recs[i].Principal, recs[i].Tool,
			recs[i].Decision, recs[i].Outcome, prev, hash, string(line)}
		prev = hash
	}
	cols := []string{"chain", "seq", "time", "server", "principal", "tool", "decision", "outcome", "prev_hash", "hash", "record"}
	if _, err := tx.CopyFrom(ctx, p.table, cols, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Close implements Backend.
func (p *Postgres) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil {
		return nil
	}
	err := p.conn.Close(context.Background())
	p.conn = nil
	return err
}
