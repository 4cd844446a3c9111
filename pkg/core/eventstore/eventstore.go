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
package eventstore

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Cost model: what a stream and an event hold beyond their data, roughly
// (the stream record, its map entry and id; an event's slice header).
const (
	streamCost = 128
	eventCost  = 24
)

// Store is a bounded in-memory mcp.EventStore.
type Store struct {
	mu       sync.Mutex
	maxBytes int
	nBytes   int
	sessions map[string]map[string]*stream
	// oldest and newest end the list of streams ordered by last write.
	oldest, newest *stream
}

// stream is the retained events of one stream.
type stream struct {
	session, id string
	// first is the stream index of data[0]: the number of events the
	// stream had before the oldest one kept.
	first int
	data  [][]byte
	cost  int
	// lost marks a stream written to after the store forgot it: the
	// indices of its events are unknown, so nothing of it can be replayed.
	lost       bool
	prev, next *stream
}

// New returns a store that keeps at most maxBytes (data and bookkeeping),
// except that the newest event is always kept.
func New(maxBytes int) *Store {
	if maxBytes <= 0 {
		panic("eventstore: maxBytes must be positive")
	}
	return &Store{maxBytes: maxBytes, sessions: make(map[string]map[string]*stream)}
}

var _ mcp.EventStore = (*Store)(nil)

// Open records a new stream.
func (s *Store) Open(_ context.Context, sessionID, streamID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.lookup(sessionID, streamID)
	if st == nil {
		st = s.add(sessionID, streamID, false)
	}
	s.touch(st)
	s.evict(st)
	return nil
}

// Append records the next event of a stream.
func (s *Store) Append(_ context.Context, sessionID, streamID string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.lookup(sessionID, streamID)
	if st == nil {
		// go-sdk opens every stream before writing to it: this one was
		// forgotten while still in use.
		st = s.add(sessionID, streamID, true)
	}
	if !st.lost {
		st.data = append(st.data, data)
		c := len(data) + eventCost
		st.cost += c
		s.nBytes += c
	}
	s.touch(st)
	s.evict(st)
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
	st := s.lookup(sessionID, streamID)
	if st == nil {
		// Never opened, or forgotten: either way there is nothing to replay.
		return nil, fmt.Errorf("eventstore: stream %q of session %q: %w", streamID, sessionID, mcp.ErrEventsPurged)
	}
	start := index + 1 - st.first
	if st.lost || start < 0 {
		return nil, fmt.Errorf("eventstore: stream %q of session %q after index %d: %w", streamID, sessionID, index, mcp.ErrEventsPurged)
	}
	if start >= len(st.data) {
		return nil, nil
	}
	// A copy: the caller writes these out after the lock is released.
	return slices.Clone(st.data[start:]), nil
}

// SessionClosed forgets every stream of a session.
func (s *Store) SessionClosed(_ context.Context, sessionID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.sessions[sessionID] {
		s.remove(st)
	}
	return nil
}

func (s *Store) lookup(sessionID, streamID string) *stream {
	// A stream is usually written right after it is opened: no map lookup
	// for that.
	if st := s.newest; st != nil && st.id == streamID && st.session == sessionID {
		return st
	}
	return s.sessions[sessionID][streamID]
}

func (s *Store) add(sessionID, streamID string, lost bool) *stream {
	m := s.sessions[sessionID]
	if m == nil {
		m = make(map[string]*stream)
		s.sessions[sessionID] = m
	}
	st := &stream{session: sessionID, id: streamID, lost: lost, cost: streamCost + len(streamID)}
	m[streamID] = st
	s.nBytes += st.cost
	return st
}

// touch moves st to the newest end of the list.
func (s *Store) touch(st *stream) {
	if s.newest == st {
		return
	}
	s.unlink(st)
	st.prev = s.newest
	if s.newest != nil {
		s.newest.next = st
	}
	s.newest = st
	if s.oldest == nil {
		s.oldest = st
	}
}

func (s *Store) unlink(st *stream) {
	if st.prev != nil {
		st.prev.next = st.next
	} else if s.oldest == st {
		s.oldest = st.next
	}
	if st.next != nil {
		st.next.prev = st.prev
	} else if s.newest == st {
		s.newest = st.prev
	}
	st.prev, st.next = nil, nil
}

// remove forgets a stream.
func (s *Store) remove(st *stream) {
	s.unlink(st)
	m := s.sessions[st.session]
	delete(m, st.id)
	if len(m) == 0 {
		delete(s.sessions, st.session)
	}
	s.nBytes -= st.cost
}

// evict brings the store within its budget: it forgets the least recently
// written streams and, when the stream just written is all that is left,
// drops that stream's oldest events, keeping its newest.
func (s *Store) evict(current *stream) {
	for s.nBytes > s.maxBytes {
		if victim := s.oldest; victim != current {
			s.remove(victim)
			continue
		}
		for s.nBytes > s.maxBytes && len(current.data) > 1 {
			c := len(current.data[0]) + eventCost
			current.data[0] = nil
			current.data = current.data[1:]
			current.first++
			current.cost -= c
			s.nBytes -= c
		}
		return
	}
}
