package eventstore

import (
	"context"
	"errors"
	"fmt"
	"reflect"
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
	return len(s.slots) - len(s.free), s.nBytes
}

// cost is what one stream with these events costs, measured on a store of
// its own.
func cost(session, stream string, data ...string) int {
	s := New(1 << 30)
	_ = s.Open(ctx, session, stream)
	for _, d := range data {
		_ = s.Append(ctx, session, stream, []byte(d))
	}
	_, n := s.size()
	return n
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
	if streams == 0 || streams > budget/slotCost {
		t.Fatalf("%d streams kept (%d bytes) for a %d budget", streams, n, budget)
	}
	// Slots of forgotten streams are reused: the bookkeeping is bounded too.
	if len(s.slots) > budget/slotCost+1 {
		t.Fatalf("%d slots for at most %d streams", len(s.slots), budget/slotCost)
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
	s := New(3 * cost("s", "L", "0123456789"))
	_ = s.Open(ctx, "s", "L") // long-lived, opened first
	mustAppend(t, s, "s", "L", "0123456789")
	_ = s.Open(ctx, "s", "a")
	mustAppend(t, s, "s", "a", "0123456789")
	_ = s.Open(ctx, "s", "b")
	mustAppend(t, s, "s", "b", "0123456789")
	if streams, _ := s.size(); streams != 3 {
		t.Fatalf("%d streams kept, want all 3", streams)
	}
	// L written again, with more than its buffer has room for: now a is
	// the least recently written, and goes to make room.
	big := strings.Repeat("x", 2*roomForFirstEvent)
	mustAppend(t, s, "s", "L", big)
	if _, err := replay(t, s, "s", "a", -1); !errors.Is(err, mcp.ErrEventsPurged) {
		t.Fatalf("stream a should be forgotten first: %v", err)
	}
	if got, err := replay(t, s, "s", "L", -1); err != nil || strings.Join(got, ",") != "0123456789,"+big {
		t.Fatalf("stream L: %q, %v", got, err)
	}
}

// TestOneStreamOverBudget keeps the newest events of a stream that alone
// exceeds the budget, and reports the dropped ones as purged.
func TestOneStreamOverBudget(t *testing.T) {
	// Room for two events of 100 bytes (and their one-byte length) in a
	// buffer of exactly their size.
	s := New(slotCost + len("s") + len("a") + 2*(1+100))
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
	s := New(2 * cost("s", "f0", "0123456789"))
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

// TestHashIsOnlyAHint: streams are found by a hash of their ids, but only
// a slot holding exactly those ids answers for them.
func TestHashIsOnlyAHint(t *testing.T) {
	s := New(1 << 20)
	// The session id's length is part of the hash and of the comparison.
	_ = s.Open(ctx, "ab", "c")
	mustAppend(t, s, "ab", "c", "ab/c")
	_ = s.Open(ctx, "a", "bc")
	mustAppend(t, s, "a", "bc", "a/bc")
	for _, tc := range []struct{ session, stream, want string }{{"ab", "c", "ab/c"}, {"a", "bc", "a/bc"}} {
		if got, err := replay(t, s, tc.session, tc.stream, -1); err != nil || strings.Join(got, ",") != tc.want {
			t.Fatalf("%s/%s: %q, %v", tc.session, tc.stream, got, err)
		}
	}
	if _, err := replay(t, s, "abc", "", -1); !errors.Is(err, mcp.ErrEventsPurged) {
		t.Fatalf("abc/: %v", err)
	}

	// A collision, made by hand: the hash of x/y leads to a/bc's slot.
	victim, _ := s.lookup("a", "bc")
	s.index[s.streamKey("x", "y")] = victim
	if _, err := replay(t, s, "x", "y", -1); !errors.Is(err, mcp.ErrEventsPurged) {
		t.Fatalf("x/y answered with another stream's events: %v", err)
	}
	// Opening x/y forgets the stream it collides with; ab/c is untouched.
	_ = s.Open(ctx, "x", "y")
	mustAppend(t, s, "x", "y", "x/y")
	if got, err := replay(t, s, "x", "y", -1); err != nil || strings.Join(got, ",") != "x/y" {
		t.Fatalf("x/y: %q, %v", got, err)
	}
	if got, err := replay(t, s, "ab", "c", -1); err != nil || strings.Join(got, ",") != "ab/c" {
		t.Fatalf("ab/c: %q, %v", got, err)
	}
	if streams, _ := s.size(); streams != 2 {
		t.Fatalf("%d streams, want 2", streams)
	}
}

// TestReplayIsACopy: events replayed stay as they were while the store
// compacts and reuses the buffers they came from.
func TestReplayIsACopy(t *testing.T) {
	s := New(slotCost + len("s") + len("a") + 2*(1+100))
	_ = s.Open(ctx, "s", "a")
	mustAppend(t, s, "s", "a", strings.Repeat("0", 100), strings.Repeat("1", 100))
	var held [][]byte
	for d, err := range s.After(ctx, "s", "a", -1) {
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, d)
	}
	for i := range 5 { // each trims and compacts the buffer
		mustAppend(t, s, "s", "a", strings.Repeat(fmt.Sprint(i+2), 100))
	}
	_ = s.SessionClosed(ctx, "s")
	_ = s.Open(ctx, "s", "b") // reuses the slot
	mustAppend(t, s, "s", "b", strings.Repeat("9", 100))
	if string(held[0]) != strings.Repeat("0", 100) || string(held[1]) != strings.Repeat("1", 100) {
		t.Fatalf("replayed events changed under the caller: %q", held)
	}
}

// TestFullStoreReusesBuffers: a full store forgets a stream for each one it
// opens, and the new stream takes the forgotten one's buffer, so a call's
// store work allocates nothing once the store is full.
func TestFullStoreReusesBuffers(t *testing.T) {
	s := New(64 << 10)
	ids := make([]string, 4000)
	for i := range ids {
		ids[i] = fmt.Sprintf("%026d", i) // go-sdk's ids are 26 bytes
	}
	result := []byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello"}]}}`)
	i := 0
	call := func() {
		id := ids[i%len(ids)]
		i++
		_ = s.Open(ctx, "session-0000000000000000000", id)
		_ = s.Append(ctx, "session-0000000000000000000", id, nil)
		_ = s.Append(ctx, "session-0000000000000000000", id, result)
	}
	for range 1000 { // fill it
		call()
	}
	if allocs := testing.AllocsPerRun(1000, call); allocs != 0 {
		t.Fatalf("%v allocations per call on a full store, want 0", allocs)
	}
	if _, n := s.size(); n > 64<<10 {
		t.Fatalf("%d bytes over the budget", n)
	}
}

// TestSlotHoldsNoPointers guards the layout the package comment explains: a
// pointer in a slot would make the collector scan every slot.
func TestSlotHoldsNoPointers(t *testing.T) {
	typ := reflect.TypeFor[slot]()
	for i := range typ.NumField() {
		switch f := typ.Field(i); f.Type.Kind() {
		case reflect.Bool, reflect.Int, reflect.Int32, reflect.Uint64:
		default:
			t.Errorf("slot.%s is a %s: slots must hold no pointers", f.Name, f.Type)
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
	if streams, n := s.size(); streams != 1 || n != cost("s2", "a", "data") {
		t.Fatalf("Len = %d streams, %d bytes", streams, n)
	}
	_ = s.SessionClosed(ctx, "s2")
	if streams, n := s.size(); streams != 0 || n != 0 || s.oldest != none || s.newest != none || len(s.index) != 0 || len(s.sessions) != 0 {
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
