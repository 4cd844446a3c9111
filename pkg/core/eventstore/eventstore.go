// Package eventstore keeps the recent SSE events of stateful Streamable HTTP
// sessions in memory, so that a client whose stream broke can resume it with
// Last-Event-ID. [Store] implements go-sdk's mcp.EventStore.
//
// It exists because go-sdk's MemoryEventStore (v1.8.0) trims events when it
// is over its budget but never forgets a stream: every request of a session
// opens a stream whose entry stays until the session closes, so the store of
// a long-lived session grows with every call (about 150 bytes each, none of
// it counted against the budget), every trim walks all of those entries, and
// the garbage collector marks them all on every cycle. go-sdk's interface
// asks a store for exactly this: "A store cannot rely on [SessionClosed]
// being called for cleanup. It should institute additional mechanisms ... to
// reclaim storage."
//
// This store counts what a stream costs (its bookkeeping as well as its
// data) against one budget and, when over it, forgets whole streams, least
// recently written first. A stream is written to until its last response, so
// the streams forgotten are, in practice, finished ones whose client did not
// come back for them.
//
// The layout is chosen for the garbage collector. A full store holds tens of
// thousands of streams for the life of the process, and every GC cycle marks
// whatever the store points to. So a stream's bookkeeping lives in a slot
// with no pointers, slots are found through maps whose keys and values hold
// no pointers, and a stream's ids and events share one byte slice: per
// stream the collector marks one object that it does not scan, where a
// struct, a map entry, an id string, a slice of events and every event
// would each be an object to mark (profiled: with the store full, GC marking
// took about 6% of a benchmark server's CPU, and about 1.6% with the same
// heap held in pointer-free memory).
package eventstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"iter"
	"sync"
	"unsafe"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// slotCost is what a stream holds beyond its buffer: its slot, its entry in
// the buffer list and in the index, and its share of the session index.
const slotCost = int(unsafe.Sizeof(slot{})) + int(unsafe.Sizeof([]byte(nil))) + 32

// none ends a list of slots.
const none = -1

// Store is a bounded in-memory mcp.EventStore.
type Store struct {
	mu       sync.Mutex
	maxBytes int
	nBytes   int
	seed     maphash.Seed
	// index finds a stream's slot by the hash of its session and stream
	// ids; sessions finds the first slot of a session's list by the hash of
	// the session id. A hash is only a hint: the ids are compared with the
	// ones the slot's buffer holds.
	index    map[uint64]int32
	sessions map[uint64]int32
	slots    []slot
	// bufs[i] is slot i's buffer: the session id, the stream id, then the
	// events kept, each a uvarint length and the data.
	bufs [][]byte
	free []int32
	// spare is the buffer of the stream forgotten last, kept for the next
	// stream: a full store forgets one stream for each it opens, so in the
	// steady state opening a stream allocates nothing. It is not counted
	// against the budget, which it can exceed by at most maxSpare.
	spare []byte
	// oldest and newest end the list of streams ordered by last write.
	oldest, newest int32
}

// slot is the bookkeeping of one stream. It holds no pointers.
type slot struct {
	key, sessionKey       uint64
	sessionLen, streamLen int32
	// first is the stream index of the first event kept; n events are kept,
	// the first of them at offset start of the buffer.
	first, n, start int
	cost            int
	// lost marks a stream written to after the store forgot it: the
	// indices of its events are unknown, so nothing of it can be replayed.
	lost bool
	used bool
	// prev and next link the list by last write; sprev and snext, the
	// session's streams.
	prev, next, sprev, snext int32
}

// New returns a store that keeps at most maxBytes (data and bookkeeping),
// except that the newest event is always kept, and one spare buffer of at
// most maxSpare bytes.
func New(maxBytes int) *Store {
	if maxBytes <= 0 {
		panic("eventstore: maxBytes must be positive")
	}
	return &Store{
		maxBytes: maxBytes,
		seed:     maphash.MakeSeed(),
		index:    make(map[uint64]int32),
		sessions: make(map[uint64]int32),
		oldest:   none,
		newest:   none,
	}
}

var _ mcp.EventStore = (*Store)(nil)

// Open records a new stream.
func (s *Store) Open(_ context.Context, sessionID, streamID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, key := s.lookup(sessionID, streamID)
	if i == none {
		i = s.add(key, sessionID, streamID, false)
	}
	s.touch(i)
	s.evict(i)
	return nil
}

// Append records the next event of a stream.
func (s *Store) Append(_ context.Context, sessionID, streamID string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, key := s.lookup(sessionID, streamID)
	if i == none {
		// go-sdk opens every stream before writing to it: this one was
		// forgotten while still in use.
		i = s.add(key, sessionID, streamID, true)
	}
	if st := &s.slots[i]; !st.lost {
		buf := s.bufs[i]
		before := cap(buf)
		buf = binary.AppendUvarint(buf, uint64(len(data)))
		buf = append(buf, data...)
		s.bufs[i] = buf
		st.n++
		st.cost += cap(buf) - before
		s.nBytes += cap(buf) - before
	}
	s.touch(i)
	s.evict(i)
	return nil
}

// After returns the events of a stream after index. It fails, as
// mcp.EventStore requires, if any of them is no longer kept.
func (s *Store) After(_ context.Context, sessionID, streamID string, index int) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		events, err := s.after(sessionID, streamID, index)
		if err != nil {
			yield(nil, err)
			return
		}
		for _, d := range events {
			if !yield(d, nil) {
				return
			}
		}
	}
}

func (s *Store) after(sessionID, streamID string, index int) ([][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, _ := s.lookup(sessionID, streamID)
	if i == none {
		// Never opened, or forgotten: either way there is nothing to replay.
		return nil, fmt.Errorf("eventstore: stream %q of session %q: %w", streamID, sessionID, mcp.ErrEventsPurged)
	}
	st := &s.slots[i]
	skip := index + 1 - st.first
	if st.lost || skip < 0 {
		return nil, fmt.Errorf("eventstore: stream %q of session %q after index %d: %w", streamID, sessionID, index, mcp.ErrEventsPurged)
	}
	if skip >= st.n {
		return nil, nil
	}
	buf := s.bufs[i]
	off := st.start
	for range skip {
		off = next(buf, off)
	}
	// A copy: the caller writes these out after the lock is released, and
	// the buffer may be compacted or reused by then.
	rest := append([]byte(nil), buf[off:]...)
	events := make([][]byte, 0, st.n-skip)
	for off := 0; off < len(rest); {
		l, w := binary.Uvarint(rest[off:])
		off += w
		events = append(events, rest[off:off+int(l)])
		off += int(l)
	}
	return events, nil
}

// next returns the offset of the event after the one at off.
func next(buf []byte, off int) int {
	l, w := binary.Uvarint(buf[off:])
	return off + w + int(l)
}

// SessionClosed forgets every stream of a session.
func (s *Store) SessionClosed(_ context.Context, sessionID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	head, ok := s.sessions[maphash.String(s.seed, sessionID)]
	if !ok {
		return nil
	}
	for i := head; i != none; {
		st := &s.slots[i]
		nxt := st.snext
		if string(s.bufs[i][:st.sessionLen]) == sessionID {
			s.remove(i)
		}
		i = nxt
	}
	return nil
}

// streamKey hashes a session id and a stream id together; the length of the
// first keeps ("ab", "c") and ("a", "bc") apart.
func (s *Store) streamKey(sessionID, streamID string) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	var n [binary.MaxVarintLen64]byte
	_, _ = h.Write(binary.AppendUvarint(n[:0], uint64(len(sessionID))))
	_, _ = h.WriteString(sessionID)
	_, _ = h.WriteString(streamID)
	return h.Sum64()
}

// holds reports whether slot i is the stream of these ids.
func (s *Store) holds(i int32, sessionID, streamID string) bool {
	st := &s.slots[i]
	if !st.used || int(st.sessionLen) != len(sessionID) || int(st.streamLen) != len(streamID) {
		return false
	}
	buf := s.bufs[i]
	return string(buf[:st.sessionLen]) == sessionID && string(buf[st.sessionLen:st.sessionLen+st.streamLen]) == streamID
}

// lookup returns the slot of a stream, or none, and the stream's key (so
// that a stream not found is added without hashing its ids again).
func (s *Store) lookup(sessionID, streamID string) (int32, uint64) {
	// A stream is usually written right after it is opened: no hashing
	// for that.
	if s.newest != none && s.holds(s.newest, sessionID, streamID) {
		return s.newest, s.slots[s.newest].key
	}
	key := s.streamKey(sessionID, streamID)
	i, ok := s.index[key]
	if !ok || !s.holds(i, sessionID, streamID) {
		return none, key
	}
	return i, key
}

// roomForFirstEvent is the space a new stream's buffer leaves after its ids,
// so that a small result is written without growing it.
const roomForFirstEvent = 192

// newBufferSize is the capacity of a new stream's buffer when its ids are
// short (go-sdk's are 26 bytes each).
const newBufferSize = 256

// maxSpare bounds the buffer kept for reuse: a larger one would hold memory
// for the next stream that it most likely does not need.
const maxSpare = 1024

// add records a new stream under key, its streamKey.
func (s *Store) add(key uint64, sessionID, streamID string, lost bool) int32 {
	if other, ok := s.index[key]; ok {
		// Another stream with the same hash (the ids differ, or lookup
		// would have found it): forgetting it is what the store may do to
		// any stream.
		s.remove(other)
	}
	var i int32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		i = int32(len(s.slots))
		s.slots = append(s.slots, slot{})
		s.bufs = append(s.bufs, nil)
	}
	ids := len(sessionID) + len(streamID)
	var buf []byte
	if want := ids + roomForFirstEvent; cap(s.spare) >= want {
		buf = s.spare[:0]
		s.spare = nil
	} else {
		// One size for the usual ids, so that any spare fits the next.
		buf = make([]byte, 0, max(want, newBufferSize))
	}
	buf = append(append(buf, sessionID...), streamID...)
	s.bufs[i] = buf
	sessionKey := maphash.String(s.seed, sessionID)
	st := &s.slots[i]
	*st = slot{
		key: key, sessionKey: sessionKey,
		sessionLen: int32(len(sessionID)), streamLen: int32(len(streamID)),
		start: ids, cost: slotCost + cap(buf), lost: lost, used: true,
		prev: none, next: none, sprev: none, snext: none,
	}
	s.index[key] = i
	if head, ok := s.sessions[sessionKey]; ok {
		st.snext = head
		s.slots[head].sprev = i
	}
	s.sessions[sessionKey] = i
	s.nBytes += st.cost
	return i
}

// touch moves slot i to the newest end of the list.
func (s *Store) touch(i int32) {
	if s.newest == i {
		return
	}
	s.unlink(i)
	st := &s.slots[i]
	st.prev = s.newest
	if s.newest != none {
		s.slots[s.newest].next = i
	}
	s.newest = i
	if s.oldest == none {
		s.oldest = i
	}
}

func (s *Store) unlink(i int32) {
	st := &s.slots[i]
	if st.prev != none {
		s.slots[st.prev].next = st.next
	} else if s.oldest == i {
		s.oldest = st.next
	}
	if st.next != none {
		s.slots[st.next].prev = st.prev
	} else if s.newest == i {
		s.newest = st.prev
	}
	st.prev, st.next = none, none
}

// remove forgets the stream in slot i.
func (s *Store) remove(i int32) {
	s.unlink(i)
	st := &s.slots[i]
	if st.sprev != none {
		s.slots[st.sprev].snext = st.snext
	} else if st.snext != none {
		s.sessions[st.sessionKey] = st.snext
	} else {
		delete(s.sessions, st.sessionKey)
	}
	if st.snext != none {
		s.slots[st.snext].sprev = st.sprev
	}
	if j, ok := s.index[st.key]; ok && j == i {
		delete(s.index, st.key)
	}
	s.nBytes -= st.cost
	if buf := s.bufs[i]; s.spare == nil && cap(buf) <= maxSpare {
		s.spare = buf
	}
	*st = slot{}
	s.bufs[i] = nil
	s.free = append(s.free, i)
}

// evict brings the store within its budget: it forgets the least recently
// written streams and, when the stream just written is all that is left,
// drops that stream's oldest events, keeping its newest.
func (s *Store) evict(current int32) {
	for s.nBytes > s.maxBytes {
		if victim := s.oldest; victim != current {
			s.remove(victim)
			continue
		}
		s.trim(current)
		return
	}
}

// trim drops the oldest events of slot i, the only stream left, until the
// store is within its budget or one event is left, and then copies what is
// kept into a buffer of its size.
func (s *Store) trim(i int32) {
	st := &s.slots[i]
	buf := s.bufs[i]
	ids := int(st.sessionLen + st.streamLen)
	over := s.nBytes - s.maxBytes
	// freed is what a buffer holding the ids and the events from start on
	// would save.
	freed := func(start int) int { return cap(buf) - (ids + len(buf) - start) }
	dropped, start := 0, st.start
	for st.n-dropped > 1 && freed(start) < over {
		start = next(buf, start)
		dropped++
	}
	if freed(start) == 0 {
		return
	}
	kept := make([]byte, ids+len(buf)-start)
	copy(kept, buf[:ids])
	copy(kept[ids:], buf[start:])
	s.bufs[i] = kept
	st.first += dropped
	st.n -= dropped
	st.start = ids
	s.nBytes += cap(kept) - cap(buf)
	st.cost += cap(kept) - cap(buf)
}
