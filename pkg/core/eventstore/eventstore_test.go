package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

var ctx = context.Background()

// size reports the streams and bytes (data and bookkeeping) kept now.
func (s *Store) size() (streams, bytes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.sessions {
		streams += len(m)
	}
	return streams, s.nBytes
}

// replay collects After's events, or its error.
func replay(t *testing.T, s *Store, session, stream string, index int) ([]string, error) {
	t.Helper()
	var out []string
	for d, err := range s.After(ctx, session, stream, index) {
		if err != nil {
			return out, err
		}
		out = append(out, string(d))
	}
	return out, nil
}

func mustAppend(t *testing.T, s *Store, session, stream string, data ...string) {
	t.Helper()
	for _, d := range data {
		if err := s.Append(ctx, session, stream, []byte(d)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReplayAfterIndex(t *testing.T) {
	s := New(1 << 20)
	if err := s.Open(ctx, "s1", "a"); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "s1", "a", "", "one", "two")
	for _, tc := range []struct {
		index int
		want  string
	}{{-1, ",one,two"}, {0, "one,two"}, {1, "two"}, {2, ""}, {7, ""}} {
		got, err := replay(t, s, "s1", "a", tc.index)
		if err != nil || strings.Join(got, ",") != tc.want {
			t.Errorf("After(%d) = %q, %v; want %q", tc.index, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ session, stream string }{{"s1", "nope"}, {"nope", "a"}} {
		if _, err := replay(t, s, tc.session, tc.stream, -1); !errors.Is(err, mcp.ErrEventsPurged) {
			t.Errorf("After on unknown %s/%s: %v, want ErrEventsPurged", tc.session, tc.stream, err)
		}
	}
}

// TestBoundedByBudget is what go-sdk's MemoryEventStore does not do: a
// session that makes many calls keeps a bounded number of streams.
func TestBoundedByBudget(t *testing.T) {
	const budget = 64 << 10
	s := New(budget)
	for i := range 100_000 {
		id := fmt.Sprintf("stream-%d", i)
		if err := s.Open(ctx, "long-lived", id); err != nil {
			t.Fatal(err)
		}
		mustAppend(t, s, "long-lived", id, "", `{"jsonrpc":"2.0","id":1,"result":{}}`)
		if _, n := s.size(); n > budget {
			t.Fatalf("after %d streams the store holds %d bytes, over its %d budget", i+1, n, budget)
		}
	}
	streams, n := s.size()
	if streams == 0 || streams > budget/streamCost {
		t.Fatalf("%d streams kept (%d bytes) for a %d budget", streams, n, budget)
	}
	// The newest streams are the ones kept.
	if got, err := replay(t, s, "long-lived", "stream-99999", 0); err != nil || len(got) != 1 {
		t.Fatalf("newest stream: %q, %v", got, err)
	}
	if _, err := replay(t, s, "long-lived", "stream-0", 0); !errors.Is(err, mcp.ErrEventsPurged) {
		t.Fatalf("oldest stream: %v, want ErrEventsPurged", err)
	}
}

// TestLeastRecentlyWrittenGoesFirst: a stream still being written to
// outlives finished streams opened after it.
func TestLeastRecentlyWrittenGoesFirst(t *testing.T) {
	s := New(3 * (streamCost + 1 + eventCost + 10))
	_ = s.Open(ctx, "s", "L") // long-lived, opened first
	mustAppend(t, s, "s", "L", "0123456789")
	_ = s.Open(ctx, "s", "a")
	mustAppend(t, s, "s", "a", "0123456789")
	_ = s.Open(ctx, "s", "b")
	mustAppend(t, s, "s", "b", "0123456789")
	// L written again: now a is the least recently written.
	mustAppend(t, s, "s", "L", "x")
	if _, err := replay(t, s, "s", "a", -1); !errors.Is(err, mcp.ErrEventsPurged) {
		t.Fatalf("stream a should be forgotten first: %v", err)
	}
	if got, err := replay(t, s, "s", "L", -1); err != nil || strings.Join(got, ",") != "0123456789,x" {
		t.Fatalf("stream L: %q, %v", got, err)
	}
}

// TestOneStreamOverBudget keeps the newest events of a stream that alone
// exceeds the budget, and reports the dropped ones as purged.
func TestOneStreamOverBudget(t *testing.T) {
	s := New(streamCost + 1 + 2*(eventCost+100))
	_ = s.Open(ctx, "s", "a")
	for i := range 10 {
		mustAppend(t, s, "s", "a", fmt.Sprintf("%0100d", i))
	}
	got, err := replay(t, s, "s", "a", 7)
	if err != nil || len(got) != 2 || got[1] != fmt.Sprintf("%0100d", 9) {
		t.Fatalf("After(7) = %d events, %v", len(got), err)
	}
	if _, err := replay(t, s, "s", "a", 6); !errors.Is(err, mcp.ErrEventsPurged) {
		t.Fatalf("After(6) = %v, want ErrEventsPurged", err)
	}
	// A single event larger than the budget is still kept.
	mustAppend(t, s, "s", "a", strings.Repeat("y", 10_000))
	if got, err := replay(t, s, "s", "a", 9); err != nil || len(got) != 1 {
		t.Fatalf("oversized newest event: %d events, %v", len(got), err)
	}
}

// TestForgottenStreamNeverReplaysWrongEvents: a stream forgotten while in
// use and written to again has unknown indices; resuming it fails rather
// than skipping or mislabelling events.
func TestForgottenStreamNeverReplaysWrongEvents(t *testing.T) {
	s := New(2 * (streamCost + 4 + eventCost + 10))
	_ = s.Open(ctx, "s", "slow")
	mustAppend(t, s, "s", "slow", "") // priming event, index 0
	for i := range 5 {
		id := fmt.Sprintf("f%d", i)
		_ = s.Open(ctx, "s", id)
		mustAppend(t, s, "s", id, "0123456789")
	}
	mustAppend(t, s, "s", "slow", "the result") // index 1, after the store forgot the stream
	for _, index := range []int{-1, 0, 1} {
		if got, err := replay(t, s, "s", "slow", index); !errors.Is(err, mcp.ErrEventsPurged) {
			t.Fatalf("After(%d) on a forgotten stream = %q, %v; want ErrEventsPurged", index, got, err)
		}
	}
}

func TestSessionClosed(t *testing.T) {
	s := New(1 << 20)
	for _, sess := range []string{"s1", "s2"} {
		_ = s.Open(ctx, sess, "a")
		mustAppend(t, s, sess, "a", "data")
	}
	if err := s.SessionClosed(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := replay(t, s, "s1", "a", -1); !errors.Is(err, mcp.ErrEventsPurged) {
		t.Fatalf("closed session: %v", err)
	}
	if got, err := replay(t, s, "s2", "a", -1); err != nil || len(got) != 1 {
		t.Fatalf("other session: %q, %v", got, err)
	}
	if streams, n := s.size(); streams != 1 || n != streamCost+1+eventCost+4 {
		t.Fatalf("Len = %d streams, %d bytes", streams, n)
	}
	_ = s.SessionClosed(ctx, "s2")
	if streams, n := s.size(); streams != 0 || n != 0 || s.oldest != nil || s.newest != nil {
		t.Fatalf("empty store: %d streams, %d bytes", streams, n)
	}
}

// TestConcurrentUse runs under -race in make test.
func TestConcurrentUse(t *testing.T) {
	s := New(32 << 10)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			sess := fmt.Sprintf("s%d", w%3)
			for i := range 2000 {
				id := fmt.Sprintf("w%d-%d", w, i)
				_ = s.Open(ctx, sess, id)
				_ = s.Append(ctx, sess, id, nil)
				_ = s.Append(ctx, sess, id, []byte("result"))
				for range s.After(ctx, sess, id, 0) {
				}
				if i%500 == 0 {
					_ = s.SessionClosed(ctx, sess)
				}
			}
		})
	}
	wg.Wait()
	if _, n := s.size(); n > 32<<10 {
		t.Fatalf("%d bytes over the budget", n)
	}
}

// BenchmarkLongSession is one call's store work (open a stream, priming
// event, result) on a session that has already made 20,000 calls, against
// go-sdk's MemoryEventStore with the same budget: over budget, go-sdk's
// store walks every stream the session ever opened on each write.
func BenchmarkLongSession(b *testing.B) {
	result := []byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"{\"message\":\"hello\"}"}]}}`)
	for _, tc := range []struct {
		name  string
		store mcp.EventStore
	}{
		{"eventstore", New(1 << 20)},
		{"go-sdk-memory", func() mcp.EventStore { s := mcp.NewMemoryEventStore(nil); s.SetMaxBytes(1 << 20); return s }()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			i := 0
			call := func() {
				id := fmt.Sprintf("stream-%d", i)
				i++
				_ = tc.store.Open(ctx, "session", id)
				_ = tc.store.Append(ctx, "session", id, nil)
				_ = tc.store.Append(ctx, "session", id, result)
			}
			for range 20_000 {
				call()
			}
			b.ReportAllocs()
			for b.Loop() {
				call()
			}
		})
	}
}
