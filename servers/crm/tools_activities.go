package crm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

var activityKinds = []string{"note", "call", "email", "meeting", "task"}

// LogActivityIn are the arguments of log_activity.
type LogActivityIn struct {
	Kind           string `json:"kind" jsonschema:"note, call, email, meeting or task"`
	Subject        string `json:"subject" jsonschema:"one-line summary"`
	Body           string `json:"body,omitempty" jsonschema:"details (up to 20000 characters)"`
	OccurredAt     string `json:"occurred_at,omitempty" jsonschema:"when it happened, RFC 3339 like 2025-03-01T14:00:00Z (default: now)"`
	DueDate        string `json:"due_date,omitempty" jsonschema:"tasks only: due date YYYY-MM-DD"`
	Done           bool   `json:"done,omitempty" jsonschema:"tasks only: already done"`
	CompanyID      int64  `json:"company_id,omitempty" jsonschema:"company it concerns"`
	ContactID      int64  `json:"contact_id,omitempty" jsonschema:"contact it concerns"`
	DealID         int64  `json:"deal_id,omitempty" jsonschema:"deal it concerns"`
	OwnerID        int64  `json:"owner_id,omitempty" jsonschema:"who did it or must do it"`
	IdempotencyKey string `json:"idempotency_key,omitempty" jsonschema:"any unique string; retrying with the same key and arguments returns the first result instead of logging twice"`
}

func newLogActivity(s *Service) *core.ToolDef {
	return core.NewTool(core.ToolSpec{
		Name:  "log_activity",
		Title: "Log an activity",
		Description: "Record a note, call, e-mail, meeting or task against a company, contact and/or deal (at least one). " +
			"Tasks may have a due date and show up in list_tasks until marked done with update_activity.",
		Toolset: toolsetActivities, Effect: core.Additive, Idempotent: core.No, OpenWorld: core.No,
		Classification: core.Internal, Permissions: core.NoPermissions,
	}, func(ctx context.Context, _ *core.Call, in LogActivityIn) (WriteOut[ActivityView], error) {
		var f fieldSet
		f.set("kind", in.Kind)
		if in.Subject == "" {
			f.fail(errors.New("subject is required"))
		}
		f.text("subject", &in.Subject, maxSubject, false)
		f.text("body", &in.Body, maxBody, true)
		occurred := s.now()
		if in.OccurredAt != "" {
			t, err := time.Parse(time.RFC3339, in.OccurredAt)
			if err != nil {
				f.fail(fmt.Errorf("occurred_at %s is not an RFC 3339 time like 2025-03-01T14:00:00Z", core.Quote(in.OccurredAt)))
			}
			occurred = t
		}
		f.set("occurred_at", occurred)
		if in.Kind != "task" && (in.DueDate != "" || in.Done) {
			f.fail(errors.New("due_date and done apply to tasks only"))
		}
		if in.DueDate != "" {
			d, err := checkDate("due_date", in.DueDate)
			f.fail(err)
			f.set("due_date", d)
		}
		f.set("done", in.Done)
		if in.CompanyID == 0 && in.ContactID == 0 && in.DealID == 0 {
			f.fail(errors.New("link the activity to a company_id, contact_id or deal_id"))
		}
		for _, r := range []struct {
			col string
			id  int64
		}{{"company_id", in.CompanyID}, {"contact_id", in.ContactID}, {"deal_id", in.DealID}, {"owner_id", in.OwnerID}} {
			if r.id != 0 {
				f.ref(r.col, &r.id)
			}
		}
		if err := f.err(); err != nil {
			return WriteOut[ActivityView]{}, err
		}
		// The digest covers the arguments as given, not the defaulted time,
		// so a retry without occurred_at still matches.
		payload := in
		payload.IdempotencyKey = ""
		id, replayed, err := s.create(ctx, store.Write{Kind: store.Activities, Set: f.vals}, in.IdempotencyKey, payload)
		if err != nil {
			return WriteOut[ActivityView]{}, err
		}
		return result(ctx, s, (*store.Store).Activity, s.activityView, id, replayed)
	})
}

// UpdateActivityIn are the arguments of update_activity.
type UpdateActivityIn struct {
	ID              int64   `json:"id" jsonschema:"the activity's id"`
	ExpectedVersion int64   `json:"expected_version" jsonschema:"the version you read; if the activity changed since, the update is refused as a conflict"`
	Subject         *string `json:"subject,omitempty" jsonschema:"one-line summary"`
	Body            *string `json:"body,omitempty" jsonschema:"details"`
	DueDate         *string `json:"due_date,omitempty" jsonschema:"tasks only: due date YYYY-MM-DD; empty string clears"`
	Done            *bool   `json:"done,omitempty" jsonschema:"tasks only: mark done (true) or open again (false)"`
}

func newUpdateActivity(s *Service) *core.ToolDef {
	return core.NewTool(core.ToolSpec{
		Name:        "update_activity",
		Title:       "Update an activity",
		Description: "Edit an activity, or complete a task with done=true. Fields left out keep their values; expected_version must be the version you last read.",
		Toolset:     toolsetActivities, Effect: core.Additive, Idempotent: core.Yes, OpenWorld: core.No,
		Classification: core.Internal, Permissions: core.NoPermissions,
	}, func(ctx context.Context, _ *core.Call, in UpdateActivityIn) (WriteOut[ActivityView], error) {
		if err := checkVersion(in.ID, in.ExpectedVersion); err != nil {
			return WriteOut[ActivityView]{}, err
		}
		st, err := s.store()
		if err != nil {
			return WriteOut[ActivityView]{}, err
		}
		current, err := st.Activity(ctx, in.ID)
		if err != nil {
			return WriteOut[ActivityView]{}, s.explain(ctx, err)
		}
		var f fieldSet
		if in.Subject != nil && *in.Subject == "" {
			f.fail(errors.New("subject cannot be empty"))
		}
		f.text("subject", in.Subject, maxSubject, false)
		f.text("body", in.Body, maxBody, true)
		if current.Kind != "task" && (in.DueDate != nil || in.Done != nil) {
			f.fail(fmt.Errorf("activity %d is a %s; due_date and done apply to tasks only", in.ID, current.Kind))
		}
		if in.DueDate != nil {
			if *in.DueDate == "" {
				f.set("due_date", store.Date(""))
			} else {
				d, err := checkDate("due_date", *in.DueDate)
				f.fail(err)
				f.set("due_date", d)
			}
		}
		if in.Done != nil {
			f.set("done", *in.Done)
		}
		if err := f.err(); err != nil {
			return WriteOut[ActivityView]{}, err
		}
		if err := s.update(ctx, in.ID, in.ExpectedVersion, store.Write{Kind: store.Activities, Set: f.vals}); err != nil {
			return WriteOut[ActivityView]{}, err
		}
		return result(ctx, s, (*store.Store).Activity, s.activityView, in.ID, false)
	})
}

// ListTasksIn are the arguments of list_tasks.
type ListTasksIn struct {
	Status  string `json:"status,omitempty" jsonschema:"open (not done, default) or overdue (not done and due before today)"`
	OwnerID int64  `json:"owner_id,omitempty" jsonschema:"only tasks of this owner"`
	Limit   int    `json:"limit,omitempty" jsonschema:"results per page, 1 to 100 (default 20)"`
	Cursor  string `json:"cursor,omitempty" jsonschema:"next_cursor from the previous page"`
}

// ListTasksOut is one page of tasks, soonest due first.
type ListTasksOut struct {
	Today      string         `json:"today" jsonschema:"the date overdue is measured against (UTC)"`
	Count      int            `json:"count"`
	Tasks      []ActivityView `json:"tasks"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

func newListTasks(s *Service) *core.ToolDef {
	return core.NewTool(core.ToolSpec{
		Name:        "list_tasks",
		Title:       "List open or overdue tasks",
		Description: "List tasks that are not done, soonest due first (undated last), optionally only overdue ones or one owner's.",
		Toolset:     toolsetActivities, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.No,
		Classification: core.Internal, Permissions: core.NoPermissions,
	}, func(ctx context.Context, _ *core.Call, in ListTasksIn) (ListTasksOut, error) {
		status := in.Status
		if status == "" {
			status = "open"
		}
		limit, err := pageLimit(in.Limit)
		if err != nil {
			return ListTasksOut{}, err
		}
		today := s.today()
		q := store.TaskQuery{OwnerID: in.OwnerID, Limit: limit}
		if status == "overdue" {
			q.OverdueBefore = store.Date(today)
		}
		fp := fingerprint("tasks", status, in.OwnerID, limit)
		cur, err := decodeCursor(in.Cursor, fp)
		if err != nil {
			return ListTasksOut{}, err
		}
		q.Offset = cur.Offset
		st, err := s.store()
		if err != nil {
			return ListTasksOut{}, err
		}
		tasks, more, err := st.OpenTasks(ctx, q)
		if err != nil {
			return ListTasksOut{}, s.explain(ctx, err)
		}
		out := ListTasksOut{Today: today, Count: len(tasks), Tasks: mapSlice(tasks, s.activityView)}
		if more && q.Offset+limit <= maxOffset {
			out.NextCursor = cursor{Query: fp, Offset: q.Offset + limit}.encode()
		}
		return out, nil
	})
}

// Enums lists the values core accepts for LogActivityIn's kind.
func (LogActivityIn) Enums() map[string][]string { return map[string][]string{"kind": activityKinds} }

// Enums lists the values core accepts for ListTasksIn's status.
func (ListTasksIn) Enums() map[string][]string {
	return map[string][]string{"status": {"open", "overdue"}}
}
