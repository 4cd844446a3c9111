// Package tasks keeps the state of MCP tasks (the io.modelcontextprotocol/tasks
// extension): a tool call that goes on after its request has been answered,
// whose status, input requests and outcome the client fetches later with
// tasks/get, answers with tasks/update and stops with tasks/cancel.
//
// State lives behind core's cache interface (pkg/core/cache), not in process
// memory, so with the Redis backend a tasks/get may land on any replica. A
// task belongs to the principal that created it: for anyone else it does not
// exist.
package tasks

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core/cache"
)

// ExtensionID names the extension in capabilities.extensions.
const ExtensionID = "io.modelcontextprotocol/tasks"

// Status is where a task stands.
type Status string

// Task statuses. Completed, Failed and Cancelled are terminal.
const (
	Working       Status = "working"
	InputRequired Status = "input_required"
	Completed     Status = "completed"
	Failed        Status = "failed"
	Cancelled     Status = "cancelled"
)

// Terminal reports whether the task has ended.
func (s Status) Terminal() bool { return s == Completed || s == Failed || s == Cancelled }

// Task is the wire form every task response shares (flat, as the
// extension requires: no wrapper object).
type Task struct {
	ID             string `json:"taskId"`
	Status         Status `json:"status"`
	StatusMessage  string `json:"statusMessage,omitempty"`
	CreatedAt      string `json:"createdAt"`
	LastUpdatedAt  string `json:"lastUpdatedAt"`
	TTLMs          int64  `json:"ttlMs"`
	PollIntervalMs int64  `json:"pollIntervalMs"`
}

// Record is a task as stored.
type Record struct {
	Task
	// Owner is the principal that created the task.
	Owner string `json:"owner"`
	// Tool is the tool the task runs.
	Tool string `json:"tool"`
	// Result is the tool result (a CallToolResult) once Completed.
	Result json.RawMessage `json:"result,omitempty"`
	// Error is the JSON-RPC error object once Failed.
	Error json.RawMessage `json:"error,omitempty"`
	// InputRequests are the questions still unanswered while InputRequired,
	// keyed as the tool asked them.
	InputRequests map[string]json.RawMessage `json:"inputRequests,omitempty"`
	// Responses are the answers received so far in this round.
	Responses map[string]json.RawMessage `json:"responses,omitempty"`
	// Round counts input rounds; a runner waits for the round it asked in.
	Round int `json:"round"`
	// CancelRequested is set by tasks/cancel; a runner on any replica
	// watches for it.
	CancelRequested bool `json:"cancelRequested,omitempty"`
}

// ErrNotFound is returned for a task that does not exist, has expired, or
// belongs to someone else (the two must look the same).
var ErrNotFound = errors.New("task not found")

// Store keeps task records in a cache for their TTL.
type Store struct {
	cache cache.Cache
	// TTL is how long a task stays fetchable after its last update.
	TTL time.Duration
	// PollInterval is what clients are told to wait between tasks/get.
	PollInterval time.Duration
	now          func() time.Time
}

// NewStore returns a store on c.
func NewStore(c cache.Cache, ttl, pollInterval time.Duration) *Store {
	return &Store{cache: c, TTL: ttl, PollInterval: pollInterval, now: time.Now}
}

func key(id string) string { return "task:" + id }

// Create stores a new working task for owner running tool. The task can be
// fetched once Create returns (durable create).
func (s *Store) Create(ctx context.Context, owner, tool string) (*Record, error) {
	now := s.now().UTC().Format(time.RFC3339Nano)
	r := &Record{
		Task: Task{
			ID: rand.Text(), Status: Working, CreatedAt: now, LastUpdatedAt: now,
			TTLMs: s.TTL.Milliseconds(), PollIntervalMs: s.PollInterval.Milliseconds(),
		},
		Owner: owner, Tool: tool,
	}
	if err := s.put(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// Get returns owner's task id.
func (s *Store) Get(ctx context.Context, owner, id string) (*Record, error) {
	_, r, err := s.read(ctx, owner, id)
	return r, err
}

// read returns owner's task id and the bytes it was stored as.
func (s *Store) read(ctx context.Context, owner, id string) ([]byte, *Record, error) {
	raw, ok, err := s.cache.Get(ctx, key(id))
	if err != nil {
		return nil, nil, fmt.Errorf("reading task: %w", err)
	}
	if !ok {
		return nil, nil, ErrNotFound
	}
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, nil, fmt.Errorf("decoding task: %w", err)
	}
	if r.Owner != owner {
		return nil, nil, ErrNotFound
	}
	return raw, &r, nil
}

// Update applies change to owner's task id and stores it. A terminal task
// is not changed (change is not called) and is returned as it is.
//
// The store is shared by replicas, so the write is a compare-and-swap
// against what was read: when another writer got in between (a cancel
// racing the task's completion, say), the task is read again and change
// applied to what is there now, so a terminal status is never undone and
// no update is lost.
func (s *Store) Update(ctx context.Context, owner, id string, change func(*Record)) (*Record, error) {
	for attempt := 0; ; attempt++ {
		raw, r, err := s.read(ctx, owner, id)
		if err != nil {
			return nil, err
		}
		if r.Status.Terminal() {
			return r, nil
		}
		change(r)
		r.LastUpdatedAt = s.now().UTC().Format(time.RFC3339Nano)
		next, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		ok, err := s.cache.CompareAndSwap(ctx, key(id), raw, next, s.TTL)
		if err != nil {
			return nil, fmt.Errorf("storing task: %w", err)
		}
		if ok {
			return r, nil
		}
		if attempt == maxUpdateAttempts {
			return nil, fmt.Errorf("storing task: %d concurrent updates in a row; try again", maxUpdateAttempts+1)
		}
	}
}

// maxUpdateAttempts bounds the retries of an Update that keeps losing
// its compare-and-swap.
const maxUpdateAttempts = 16

func (s *Store) put(ctx context.Context, r *Record) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := s.cache.Set(ctx, key(r.ID), raw, s.TTL); err != nil {
		return fmt.Errorf("storing task: %w", err)
	}
	return nil
}
