package cache

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// MemoryOptions configure [NewMemory].
type MemoryOptions struct {
	// Name tells caches apart in metrics.
	Name string
	// MaxBytes bounds the sum of key and value sizes held. The bookkeeping
	// of each entry (about 100 bytes) is not counted.
	MaxBytes int64
	// Meters receives the cache metrics; nil means none.
	Meters metric.MeterProvider
}

// Memory is an in-process cache: least recently used entries go first when
// the byte bound is reached, and an entry past its TTL is never returned.
// Every operation is O(1) under one mutex; it starts no goroutines.
//
// Expired entries are dropped when looked up or when they reach the tail of
// the LRU list, rather than by a background sweeper: the byte bound already
// caps the memory they can hold, and no goroutine means nothing to stop.
type Memory struct {
	maxBytes int64
	now      func() time.Time
	m        *metrics

	mu    sync.Mutex
	items map[string]*entry
	// root is the sentinel of a circular list: root.next is the most
	// recently used entry, root.prev the least.
	root  entry
	bytes int64
}

type entry struct {
	key   string
	value []byte
	// expires is the Unix nanosecond expiry; zero means never.
	expires    int64
	prev, next *entry
}

func (e *entry) size() int64 { return int64(len(e.key) + len(e.value)) }

// NewMemory returns an empty memory cache.
func NewMemory(opts MemoryOptions) (*Memory, error) {
	if opts.MaxBytes <= 0 {
		return nil, fmt.Errorf("cache: memory max bytes must be positive, got %d", opts.MaxBytes)
	}
	c := &Memory{
		maxBytes: opts.MaxBytes,
		now:      time.Now,
		m:        newMetrics(opts.Meters, BackendMemory, opts.Name),
		items:    map[string]*entry{},
	}
	c.root.next, c.root.prev = &c.root, &c.root
	return c, nil
}

// Get implements [Cache].
func (c *Memory) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := checkKey(key); err != nil {
		c.m.fail(ctx, opGet)
		return nil, false, err
	}
	now := c.now().UnixNano()
	c.mu.Lock()
	e, ok := c.items[key]
	if !ok {
		c.mu.Unlock()
		c.m.miss(ctx)
		return nil, false, nil
	}
	if e.expired(now) {
		c.remove(e)
		c.mu.Unlock()
		c.m.evicted(ctx, reasonExpired, 1)
		c.m.miss(ctx)
		return nil, false, nil
	}
	c.moveToFront(e)
	// A copy, so that a caller changing its value cannot change the cache.
	v := append([]byte(nil), e.value...)
	c.mu.Unlock()
	c.m.hit(ctx)
	return v, true, nil
}

// Set implements [Cache]. An entry larger than the whole cache is refused
// with [ErrTooLarge].
func (c *Memory) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := c.checkSet(key, value, ttl); err != nil {
		c.m.fail(ctx, opSet)
		return err
	}
	c.store(ctx, key, value, ttl, nil)
	return nil
}

// store puts a copy of value under key; with swap set, only if swap
// approves the entry there now (nil when there is none, or it expired).
// It reports whether it stored.
func (c *Memory) store(ctx context.Context, key string, value []byte, ttl time.Duration, swap func(*entry) bool) bool {
	now := c.now()
	var expires int64
	if ttl > 0 {
		expires = now.Add(ttl).UnixNano()
	}
	v := append([]byte(nil), value...)

	c.mu.Lock()
	e, ok := c.items[key]
	if swap != nil {
		current := e
		if !ok || e.expired(now.UnixNano()) {
			current = nil
		}
		if !swap(current) {
			c.mu.Unlock()
			return false
		}
	}
	if ok {
		c.bytes += int64(len(v) - len(e.value))
		e.value, e.expires = v, expires
		c.moveToFront(e)
	} else {
		e := &entry{key: key, value: v, expires: expires}
		c.items[key] = e
		c.pushFront(e)
		c.bytes += e.size()
	}
	capacity, expired := c.evict(now.UnixNano())
	c.mu.Unlock()

	c.m.evicted(ctx, reasonCapacity, capacity)
	c.m.evicted(ctx, reasonExpired, expired)
	return true
}

// CompareAndSwap implements [Cache].
func (c *Memory) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	if err := c.checkSet(key, value, ttl); err != nil {
		c.m.fail(ctx, opSet)
		return false, err
	}
	return c.store(ctx, key, value, ttl, func(e *entry) bool { return e != nil && bytes.Equal(e.value, old) }), nil
}

func (c *Memory) checkSet(key string, value []byte, ttl time.Duration) error {
	switch {
	case key == "":
		return ErrEmptyKey
	case ttl < 0:
		return ErrNegativeTTL
	case int64(len(key)+len(value)) > c.maxBytes:
		return fmt.Errorf("%w: %d bytes, cache holds %d", ErrTooLarge, len(key)+len(value), c.maxBytes)
	}
	return nil
}

// evict drops least recently used entries until the cache fits its bound,
// counting those that had expired anyway apart. The entry just set is at the
// front and fits on its own, so it is never the one dropped.
func (c *Memory) evict(now int64) (capacity, expired int64) {
	for c.bytes > c.maxBytes {
		e := c.root.prev
		if e.expired(now) {
			expired++
		} else {
			capacity++
		}
		c.remove(e)
	}
	return capacity, expired
}

// Delete implements [Cache].
func (c *Memory) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		c.m.fail(ctx, opDelete)
		return err
	}
	c.mu.Lock()
	if e, ok := c.items[key]; ok {
		c.remove(e)
	}
	c.mu.Unlock()
	return nil
}

// Len returns the number of entries held, expired ones included until they
// are dropped.
func (c *Memory) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// Bytes returns the sum of key and value sizes held.
func (c *Memory) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// Ping implements [Backend]; a memory cache is always reachable.
func (c *Memory) Ping(context.Context) error { return nil }

// Close implements [Backend]. It drops every entry; the cache stays usable.
func (c *Memory) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.items)
	c.root.next, c.root.prev = &c.root, &c.root
	c.bytes = 0
	return nil
}

func (e *entry) expired(now int64) bool { return e.expires != 0 && now >= e.expires }

func (c *Memory) pushFront(e *entry) {
	e.prev, e.next = &c.root, c.root.next
	c.root.next.prev = e
	c.root.next = e
}

func (c *Memory) unlink(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (c *Memory) moveToFront(e *entry) {
	if c.root.next == e {
		return
	}
	c.unlink(e)
	c.pushFront(e)
}

func (c *Memory) remove(e *entry) {
	c.unlink(e)
	delete(c.items, e.key)
	c.bytes -= e.size()
}

var _ Backend = (*Memory)(nil)
