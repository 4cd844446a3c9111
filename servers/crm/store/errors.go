package store

import (
	"errors"
	"fmt"
)

// NotFoundError says a record does not exist.
type NotFoundError struct {
	Kind Kind
	ID   int64
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s %d not found", e.Kind.Singular(), e.ID)
}

// ConflictError says an update named a version that is no longer current:
// someone else changed the record since it was read.
type ConflictError struct {
	Kind     Kind
	ID       int64
	Expected int64
	Current  int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s %d was changed by someone else: it is at version %d, not %d", e.Kind.Singular(), e.ID, e.Current, e.Expected)
}

// IdempotencyConflictError says an idempotency key was reused with a
// different request.
type IdempotencyConflictError struct {
	Kind     Kind
	Key      string
	RecordID int64
}

func (e *IdempotencyConflictError) Error() string {
	return fmt.Sprintf("idempotency key %q was already used for a different %s request (it created %s %d)",
		e.Key, e.Kind.Singular(), e.Kind.Singular(), e.RecordID)
}

// ErrReplayDeleted says an idempotency key's record has since been deleted.
var ErrReplayDeleted = errors.New("the record this idempotency key created has since been deleted")
