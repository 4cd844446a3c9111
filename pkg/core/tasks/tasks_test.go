package tasks

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core/cache"
)

// slowReads makes every read take a moment, so that two replicas updating
// one task both read it before either writes: the case a plain
// read-then-write loses.
type slowReads struct{ cache.Cache }

func (s slowReads) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, ok, err := s.Cache.Get(ctx, key)
	time.Sleep(2 * time.Millisecond)
	return v, ok, err
}

// TestCancelRacingCompletion: a cancel and the task's completion, from two
// replicas at the same moment, end in one terminal status that both
// callers were told of; neither overwrites the other.
func TestCancelRacingCompletion(t *testing.T) {
	mem, err := cache.NewMemory(cache.MemoryOptions{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	replicaA := NewStore(slowReads{mem}, time.Minute, time.Second)
	replicaB := NewStore(slowReads{mem}, time.Minute, time.Second)
	ctx := context.Background()
	outcomes := map[Status]int{}
	for range 40 {
		r, err := replicaA.Create(ctx, "alice", "query")
		if err != nil {
			t.Fatal(err)
		}
		var completed, cancelled *Record
		var wg sync.WaitGroup
		wg.Go(func() {
			var err error
			completed, err = replicaA.Update(ctx, "alice", r.ID, func(r *Record) {
				r.Status, r.Result = Completed, json.RawMessage(`{"content":[]}`)
			})
			if err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			var err error
			cancelled, err = replicaB.Update(ctx, "alice", r.ID, func(r *Record) {
				r.Status, r.StatusMessage = Cancelled, "cancelled by the client"
			})
			if err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		final, err := replicaA.Get(ctx, "alice", r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if completed == nil || cancelled == nil {
			t.Fatal("an update failed")
		}
		if completed.Status != final.Status || cancelled.Status != final.Status {
			t.Fatalf("completion saw %s, cancel saw %s, the task ended %s: an update was lost", completed.Status, cancelled.Status, final.Status)
		}
		if final.Status == Completed && len(final.Result) == 0 {
			t.Fatal("completed without its result")
		}
		outcomes[final.Status]++
	}
	t.Logf("outcomes: %v", outcomes)
}
