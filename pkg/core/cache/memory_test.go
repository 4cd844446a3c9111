package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable time source, so TTL tests never sleep.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestMemory(t testing.TB, maxBytes int64) (*Memory, *fakeClock) {
	t.Helper()
	c, err := NewMemory(MemoryOptions{Name: "test", MaxBytes: maxBytes})
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	c.now = clk.Now
	return c, clk
}

func mustSet(t testing.TB, c Cache, key, value string, ttl time.Duration) {
	t.Helper()
	if err := c.Set(context.Background(), key, []byte(value), ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

// get returns the value under key, or "<miss>".
func get(t testing.TB, c Cache, key string) string {
	t.Helper()
	v, ok, err := c.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if !ok {
		return "<miss>"
	}
	return string(v)
}

// keysMRU lists the keys from most to least recently used, checking the
// list and the map agree and the byte count is right.
func keysMRU(t *testing.T, c *Memory) []string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var keys []string
	var bytes int64
	for e := c.root.next; e != &c.root; e = e.next {
		if e.next.prev != e {
			t.Fatalf("list broken at %q", e.key)
		}
		if c.items[e.key] != e {
			t.Fatalf("list entry %q is not the map's", e.key)
		}
		keys = append(keys, e.key)
		bytes += e.size()
	}
	if len(keys) != len(c.items) {
		t.Fatalf("list holds %d entries, map %d", len(keys), len(c.items))
	}
	if bytes != c.bytes {
		t.Fatalf("entries hold %d bytes, counter says %d", bytes, c.bytes)
	}
	if c.bytes > c.maxBytes {
		t.Fatalf("cache holds %d bytes, bound is %d", c.bytes, c.maxBytes)
	}
	return keys
}

func TestNewMemoryRejectsNonPositiveBound(t *testing.T) {
	for _, n := range []int64{0, -1} {
		if _, err := NewMemory(MemoryOptions{MaxBytes: n}); err == nil {
			t.Errorf("NewMemory(MaxBytes: %d) succeeded", n)
		}
	}
}

func TestMemoryEvictsLeastRecentlyUsed(t *testing.T) {
	// Each entry is 1 key byte + 9 value bytes; three fit.
	c, _ := newTestMemory(t, 30)
	mustSet(t, c, "a", "aaaaaaaaa", 0)
	mustSet(t, c, "b", "bbbbbbbbb", 0)
	mustSet(t, c, "c", "ccccccccc", 0)
	if got := get(t, c, "a"); got != "aaaaaaaaa" { // a becomes most recent
		t.Fatalf("a = %q", got)
	}
	mustSet(t, c, "d", "ddddddddd", 0) // b is now least recent

	if got := get(t, c, "b"); got != "<miss>" {
		t.Errorf("b survived eviction: %q", got)
	}
	if got, want := keysMRU(t, c), []string{"d", "a", "c"}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
	// Overwriting c makes it most recent; the next insert evicts a.
	mustSet(t, c, "c", "CCCCCCCCC", 0)
	mustSet(t, c, "e", "eeeeeeeee", 0)
	if got, want := keysMRU(t, c), []string{"e", "c", "d"}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
	if got := get(t, c, "c"); got != "CCCCCCCCC" {
		t.Errorf("c = %q after overwrite", got)
	}
}

func TestMemoryByteBound(t *testing.T) {
	c, _ := newTestMemory(t, 100)
	for i := range 10 {
		mustSet(t, c, strconv.Itoa(i), "123456789", 0) // 10 bytes each
	}
	if c.Bytes() != 100 || c.Len() != 10 {
		t.Fatalf("bytes=%d len=%d, want 100 and 10", c.Bytes(), c.Len())
	}

	// Growing an entry in place evicts from the tail to make room.
	mustSet(t, c, "9", string(make([]byte, 29)), 0) // 30 bytes: two evicted
	if got, want := keysMRU(t, c), []string{"9", "8", "7", "6", "5", "4", "3", "2"}; !slices.Equal(got, want) {
		t.Errorf("after growth: %v, want %v", got, want)
	}
	// Shrinking it frees bytes without evicting anything.
	mustSet(t, c, "9", "", 0)
	if c.Bytes() != 71 || c.Len() != 8 {
		t.Errorf("after shrink: bytes=%d len=%d, want 71 and 8", c.Bytes(), c.Len())
	}

	// An entry of exactly the bound displaces everything else.
	mustSet(t, c, "big", string(make([]byte, 97)), 0)
	if got := keysMRU(t, c); !slices.Equal(got, []string{"big"}) {
		t.Errorf("after exact-size entry: %v", got)
	}

	// One byte more is refused and changes nothing.
	err := c.Set(context.Background(), "huge", make([]byte, 98), 0)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized Set error = %v, want ErrTooLarge", err)
	}
	if got := keysMRU(t, c); !slices.Equal(got, []string{"big"}) || c.Bytes() != 100 {
		t.Errorf("refused Set changed the cache: %v, %d bytes", got, c.Bytes())
	}
}

func TestMemoryTTL(t *testing.T) {
	c, clk := newTestMemory(t, 1<<10)
	mustSet(t, c, "short", "v", 10*time.Second)
	mustSet(t, c, "forever", "v", 0)

	clk.Advance(10*time.Second - time.Nanosecond)
	if got := get(t, c, "short"); got != "v" {
		t.Fatalf("entry gone before its TTL: %q", got)
	}
	clk.Advance(time.Nanosecond)
	if got := get(t, c, "short"); got != "<miss>" {
		t.Fatalf("entry returned at its TTL: %q", got)
	}
	if got := keysMRU(t, c); !slices.Equal(got, []string{"forever"}) {
		t.Errorf("expired entry not dropped on lookup: %v", got)
	}

	// Setting again restarts the TTL.
	mustSet(t, c, "short", "v1", 10*time.Second)
	clk.Advance(5 * time.Second)
	mustSet(t, c, "short", "v2", 10*time.Second)
	clk.Advance(9 * time.Second)
	if got := get(t, c, "short"); got != "v2" {
		t.Errorf("re-set entry = %q, want v2", got)
	}

	clk.Advance(1000 * time.Hour)
	if got := get(t, c, "forever"); got != "v" {
		t.Errorf("zero-TTL entry expired: %q", got)
	}
}

func TestMemoryBadInput(t *testing.T) {
	c, _ := newTestMemory(t, 100)
	ctx := context.Background()
	if err := c.Set(ctx, "k", []byte("v"), -time.Second); !errors.Is(err, ErrNegativeTTL) {
		t.Errorf("negative TTL: %v", err)
	}
	if err := c.Set(ctx, "", []byte("v"), 0); !errors.Is(err, ErrEmptyKey) {
		t.Errorf("Set empty key: %v", err)
	}
	if _, _, err := c.Get(ctx, ""); !errors.Is(err, ErrEmptyKey) {
		t.Errorf("Get empty key: %v", err)
	}
	if err := c.Delete(ctx, ""); !errors.Is(err, ErrEmptyKey) {
		t.Errorf("Delete empty key: %v", err)
	}
	if c.Len() != 0 {
		t.Errorf("bad input stored %d entries", c.Len())
	}
}

func TestMemoryDeleteAndClose(t *testing.T) {
	c, _ := newTestMemory(t, 100)
	mustSet(t, c, "a", "1", 0)
	mustSet(t, c, "b", "2", 0)
	if err := c.Delete(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(context.Background(), "missing"); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
	if got := keysMRU(t, c); !slices.Equal(got, []string{"b"}) {
		t.Errorf("after delete: %v", got)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := keysMRU(t, c); len(got) != 0 || c.Bytes() != 0 {
		t.Errorf("after close: %v, %d bytes", got, c.Bytes())
	}
	mustSet(t, c, "c", "3", 0)
	if got := get(t, c, "c"); got != "3" {
		t.Errorf("cache unusable after Close: %q", got)
	}
}

func TestMemoryValuesAreCopies(t *testing.T) {
	c, _ := newTestMemory(t, 100)
	in := []byte("original")
	if err := c.Set(context.Background(), "k", in, 0); err != nil {
		t.Fatal(err)
	}
	in[0] = 'X'
	out, _, _ := c.Get(context.Background(), "k")
	out[1] = 'Y'
	if got := get(t, c, "k"); got != "original" {
		t.Errorf("cached value changed through a caller's slice: %q", got)
	}
}

func TestMemoryConcurrentUse(t *testing.T) {
	c, clk := newTestMemory(t, 4<<10)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range 2000 {
				key := fmt.Sprintf("k%d", r.IntN(200))
				switch r.IntN(10) {
				case 0:
					_ = c.Delete(ctx, key)
				case 1, 2, 3:
					v := make([]byte, r.IntN(64))
					if err := c.Set(ctx, key, v, time.Duration(r.IntN(3))*time.Second); err != nil {
						t.Errorf("Set: %v", err)
						return
					}
				case 4:
					clk.Advance(100 * time.Millisecond)
				default:
					if _, _, err := c.Get(ctx, key); err != nil {
						t.Errorf("Get: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	keysMRU(t, c) // checks the list, the map and the byte bound agree
}

func BenchmarkMemoryGet(b *testing.B) {
	c, _ := newTestMemory(b, 64<<20)
	keys := benchKeys(c, 10000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, ok, _ := c.Get(context.Background(), keys[i%len(keys)]); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkMemoryGetParallel(b *testing.B) {
	c, _ := newTestMemory(b, 64<<20)
	keys := benchKeys(c, 10000)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(keys))
		for pb.Next() {
			i++
			_, _, _ = c.Get(context.Background(), keys[i%len(keys)])
		}
	})
}

func BenchmarkMemorySet(b *testing.B) {
	// Small enough that most Sets also evict.
	c, _ := newTestMemory(b, 256<<10)
	keys := make([]string, 10000)
	for i := range keys {
		keys[i] = "key:" + strconv.Itoa(i)
	}
	value := make([]byte, 256)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := c.Set(context.Background(), keys[i%len(keys)], value, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

func benchKeys(c *Memory, n int) []string {
	keys := make([]string, n)
	value := make([]byte, 256)
	for i := range keys {
		keys[i] = "key:" + strconv.Itoa(i)
		_ = c.Set(context.Background(), keys[i], value, time.Hour)
	}
	return keys
}
