package crm_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/servers/crm"
	"github.com/mcpfleet/mcpfleet/servers/crm/internal/testdb"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// The crash test re-runs this test binary as a writer child (TestMain
// switches on crashChildEnv), kills it with SIGKILL mid-write and checks
// that every write the child acknowledged is in the database, which must
// open clean.
const (
	crashChildEnv  = "CRM_CRASH_CHILD_DRIVER"
	crashTargetEnv = "CRM_CRASH_CHILD_TARGET"
	crashSyncEnv   = "CRM_CRASH_CHILD_SYNC"
)

// crashChild writes contacts from several goroutines until killed, printing
// "ack <id>" after each commit. It never returns normally.
func crashChild() int {
	driver, target := os.Getenv(crashChildEnv), os.Getenv(crashTargetEnv)
	cfg := crm.NewDefaultConfig()
	cfg.Driver = driver
	if driver == store.SQLite {
		cfg.DataDir = target
		cfg.SQLiteSynchronous = os.Getenv(crashSyncEnv)
	} else {
		cfg.DSN = config.NewSecret(target)
	}
	svc, err := crm.NewService(cfg, nil)
	if err == nil {
		err = svc.Start(context.Background())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 2
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("w%d-%d", w, i)
				id, _, err := svc.Store().Create(context.Background(), store.Write{Kind: store.Contacts, Set: []store.Value{
					{Col: "first_name", V: "Crash"}, {Col: "last_name", V: key}, {Col: "email", V: key + "@crash.example"},
					{Col: "properties", V: map[string]any{}},
				}}, &store.Idempotency{Key: key, Hash: key})
				if err != nil {
					fmt.Fprintln(os.Stderr, "crash child write:", err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %d\n", id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return 0
}

func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	for _, driver := range testdb.Drivers {
		t.Run(driver, func(t *testing.T) {
			var target string
			opts := testdb.Options(t, driver)
			if driver == store.SQLite {
				target = filepath.Dir(opts.Path)
			} else {
				target = opts.DSN
			}
			// SQLite runs with both synchronous settings: NORMAL is
			// documented to survive a process crash (not power loss), and
			// this proves it.
			syncModes := []string{"full", "normal"}
			if driver == store.Postgres {
				syncModes = []string{"server_default"}
			}
			for _, mode := range syncModes {
				t.Run(mode, func(t *testing.T) {
					if driver == store.SQLite {
						target = filepath.Join(t.TempDir())
						opts.Path = filepath.Join(target, "crm.db")
					}
					acked := runCrashChild(t, driver, target, mode)
					st, err := store.Open(context.Background(), opts)
					if err != nil {
						t.Fatalf("reopening after SIGKILL: %v", err)
					}
					defer st.Close()
					if err := st.IntegrityCheck(context.Background()); err != nil {
						t.Fatalf("database is damaged after SIGKILL: %v", err)
					}
					exists, err := st.ExistingIDs(context.Background(), store.Contacts, acked)
					if err != nil {
						t.Fatal(err)
					}
					for _, id := range acked {
						if !exists[id] {
							t.Fatalf("acknowledged contact %d is missing after SIGKILL (%d acknowledged)", id, len(acked))
						}
					}
					t.Logf("%d acknowledged writes, all present", len(acked))
				})
			}
		})
	}
}

// runCrashChild starts the writer, lets it acknowledge some writes, kills
// it with SIGKILL and returns every id it acknowledged.
func runCrashChild(t *testing.T, driver, target, mode string) []int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+driver, crashTargetEnv+"="+target, crashSyncEnv+"="+mode)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []int64
	killed := false
	sc := bufio.NewScanner(out)
	deadline := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		id, err := strconv.ParseInt(strings.TrimPrefix(sc.Text(), "ack "), 10, 64)
		if err != nil {
			t.Fatalf("child printed %q", sc.Text())
		}
		acked = append(acked, id)
		// Kill mid-stream; lines already printed still count as
		// acknowledged, so keep reading until the pipe closes.
		if len(acked) == 300 && !killed {
			killed = true
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child stopped after %d writes before being killed: %v\n%s", len(acked), err, stderr.String())
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v\n%s", err, stderr.String())
	}
	return acked
}
