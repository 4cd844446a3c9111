package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mcpfleet/mcpfleet/pkg/policy/internal/testenv"
)

const (
	childEnv      = "MCPFLEET_AUDIT_CHILD_DSN"
	childTableEnv = "MCPFLEET_AUDIT_CHILD_TABLE"
)

func count(t *testing.T, conn *pgx.Conn, table string) (n, maxSeq int64) {
	t.Helper()
	err := conn.QueryRow(context.Background(), `SELECT count(*), coalesce(max(seq), 0) FROM `+table).Scan(&n, &maxSeq)
	if err != nil {
		t.Fatal(err)
	}
	return n, maxSeq
}

func TestPostgresSinkAndVerify(t *testing.T) {
	conn, dsn, schema := testenv.Postgres(t)
	table := schema + ".audit"
	pg, err := NewPostgres(dsn, table, "crm")
	if err != nil {
		t.Fatal(err)
	}
	a := New([]Backend{pg}, Options{BatchSize: 7})
	write(t, a, 0, 30)
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rep, err := VerifyPostgres(ctx, conn, table, "")
	if err != nil || rep.Broken != nil || rep.Records != 30 || rep.Chains["crm"] != 30 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	// A second chain in the same table is verified on its own.
	pg2, _ := NewPostgres(dsn, table, "github")
	a2 := New([]Backend{pg2}, Options{})
	write(t, a2, 0, 3)
	a2.Close(ctx)
	if rep, _ := VerifyPostgres(ctx, conn, table, ""); rep.Broken != nil || rep.Chains["github"] != 3 || rep.Records != 33 {
		t.Fatalf("two chains: %+v", rep)
	}

	// An edited record is caught, with its position.
	_, err = conn.Exec(ctx, `UPDATE `+table+` SET record = replace(record, '"outcome":"ok"', '"outcome":"tool_error"') WHERE chain = 'crm' AND seq = 12`)
	if err != nil {
		t.Fatal(err)
	}
	rep, err = VerifyPostgres(ctx, conn, table, "crm")
	if err != nil || rep.Broken == nil || rep.Broken.Seq != 12 || !strings.Contains(rep.Broken.Reason, "modified") {
		t.Fatalf("edited record not caught: %+v %v", rep.Broken, err)
	}
	// So is a deleted one.
	conn.Exec(ctx, `UPDATE `+table+` SET record = replace(record, '"outcome":"tool_error"', '"outcome":"ok"') WHERE chain = 'crm' AND seq = 12`)
	conn.Exec(ctx, `DELETE FROM `+table+` WHERE chain = 'crm' AND seq = 20`)
	rep, _ = VerifyPostgres(ctx, conn, table, "crm")
	if rep.Broken == nil || rep.Broken.Seq != 21 {
		t.Fatalf("deleted record not caught: %+v", rep.Broken)
	}
}

// TestPostgresOutage: while the database cannot be reached, records wait
// (the backlog grows, Reserve blocks once the queue is full) and none is
// lost; when it is back every record lands, in one unbroken chain.
func TestPostgresOutage(t *testing.T) {
	conn, _, schema := testenv.Postgres(t)
	table := schema + ".audit"
	proxy := testenv.NewProxy(t, "127.0.0.1:5432")
	cfg, err := pgx.ParseConfig(testenv.PostgresDSN)
	if err != nil {
		t.Fatal(err)
	}
	dsn := fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable&connect_timeout=2", cfg.User, proxy.Addr(), cfg.Database)
	pg, err := NewPostgres(dsn, table, "crm")
	if err != nil {
		t.Fatal(err)
	}
	commits := make(chan int64, 100)
	a := New([]Backend{pg}, Options{QueueSize: 20, BatchSize: 5, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		OnCommit: func(_ string, last Record) { commits <- last.Seq }})
	write(t, a, 0, 5)
	waitSeq(t, commits, 5)

	proxy.SetDown(true)
	write(t, a, 5, 20)
	// The queue is full: a call that cannot wait is refused, not dropped.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Reserve(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("reserve on a full queue: %v", err)
	}
	st := a.Stats()[0]
	if st.Backlog != 20 || st.Written != 5 {
		t.Fatalf("stats while down: %+v", st)
	}
	waitFor(t, func() bool { return a.Stats()[0].Failures > 0 })
	if n, _ := count(t, conn, table); n != 5 {
		t.Fatalf("%d rows while down", n)
	}

	// Blocked writers resume once the database is back.
	var wg sync.WaitGroup
	wg.Go(func() { write(t, a, 25, 10) })
	proxy.SetDown(false)
	wg.Wait()
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st = a.Stats()[0]
	if st.Written != 35 || st.Dropped != 0 || st.Backlog != 0 {
		t.Fatalf("stats after recovery: %+v", st)
	}
	rep, err := VerifyPostgres(context.Background(), conn, table, "crm")
	if err != nil || rep.Broken != nil || rep.Records != 35 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// TestPostgresShutdownDeadline: records that cannot be written before the
// shutdown deadline are reported as dropped, never silently lost.
func TestPostgresShutdownDeadline(t *testing.T) {
	_, _, schema := testenv.Postgres(t)
	proxy := testenv.NewProxy(t, "127.0.0.1:5432")
	proxy.SetDown(true)
	pg, _ := NewPostgres("postgres://postgres@"+proxy.Addr()+"/test?sslmode=disable&connect_timeout=1", schema+".audit", "crm")
	a := New([]Backend{pg}, Options{MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	write(t, a, 0, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := a.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "3 records were not written") || a.Stats()[0].Dropped != 3 {
		t.Fatalf("close: %v %+v", err, a.Stats())
	}
}

// TestPostgresKill runs the sink in a child process, kills it with
// SIGKILL after it has committed some records, and checks that every
// record the child reported committed is in the table, that the chain is
// intact, and that a restarted sink continues it.
func TestPostgresKill(t *testing.T) {
	conn, dsn, schema := testenv.Postgres(t)
	table := schema + ".audit"
	app := "mcpfleet-kill-child-" + testenv.Random()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dsn+"&application_name="+app, childTableEnv+"="+table)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var committed int64
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		seq, err := strconv.ParseInt(strings.TrimPrefix(sc.Text(), "committed "), 10, 64)
		if err != nil {
			continue
		}
		committed = max(committed, seq)
		if committed >= 300 && !killed {
			// Mid-run: the child keeps writing until it dies.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed || err == nil {
		t.Fatalf("child was not killed mid-run (killed=%v, exit %v)", killed, err)
	}
	// A batch whose COMMIT reached the server just before the kill may
	// still commit: durable, though never acknowledged. Count once the
	// child's session is gone.
	waitFor(t, func() bool {
		var sessions int
		err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&sessions)
		return err == nil && sessions == 0
	})
	n, maxSeq := count(t, conn, table)
	if maxSeq < committed || n != maxSeq {
		t.Fatalf("child reported seq %d committed; table has %d rows, max seq %d", committed, n, maxSeq)
	}
	rep, err := VerifyPostgres(context.Background(), conn, table, "crm")
	if err != nil || rep.Broken != nil {
		t.Fatalf("verify after kill: %+v %v", rep.Broken, err)
	}

	pg, _ := NewPostgres(dsn, table, "crm")
	a := New([]Backend{pg}, Options{})
	write(t, a, 0, 10)
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep, err = VerifyPostgres(context.Background(), conn, table, "crm")
	if err != nil || rep.Broken != nil || rep.Chains["crm"] != maxSeq+10 {
		t.Fatalf("restarted sink: %+v %v (want last seq %d)", rep, err, maxSeq+10)
	}
	t.Logf("child committed at least %d records before SIGKILL; %d rows survived", committed, n)
}

// runChild is the process TestPostgresKill kills: it writes records
// forever and prints the seq of the last record of every commit.
func runChild() int {
	pg, err := NewPostgres(os.Getenv(childEnv), os.Getenv(childTableEnv), "crm")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	a := New([]Backend{pg}, Options{QueueSize: 200, BatchSize: 20, OnCommit: func(_ string, last Record) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "committed %d\n", last.Seq)
		w.Flush()
	}})
	for i := 0; ; i++ {
		if err := a.Reserve(context.Background()); err != nil {
			return 1
		}
		a.Submit(rec(i % 1000))
	}
}

func waitSeq(t *testing.T, ch <-chan int64, seq int64) {
	t.Helper()
	for {
		select {
		case s := <-ch:
			if s >= seq {
				return
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("seq %d was not committed", seq)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
