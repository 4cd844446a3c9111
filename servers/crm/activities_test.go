package crm_test

import (
	"testing"
	"time"

	"github.com/mcpfleet/mcpfleet/servers/crm"
)

func TestActivitiesAndTasks(t *testing.T) {
	eachDriver(t, "", func(t *testing.T, s *server) {
		co := call[crm.WriteOut[crm.CompanyView]](t, s, "create_company", obj{"name": "Initech"})
		today := time.Now().UTC()
		past := today.AddDate(0, 0, -3).Format(time.DateOnly)
		future := today.AddDate(0, 0, 5).Format(time.DateOnly)

		note := call[crm.WriteOut[crm.ActivityView]](t, s, "log_activity", obj{"kind": "call", "subject": "Intro call", "body": "Went well.\nNext: demo.",
			"company_id": co.Record.ID, "occurred_at": "2025-03-01T14:00:00Z", "idempotency_key": "call-1"})
		if note.Record.Kind != "call" || !note.Record.OccurredAt.Equal(time.Date(2025, 3, 1, 14, 0, 0, 0, time.UTC)) {
			t.Fatalf("call = %+v", note.Record)
		}
		again := call[crm.WriteOut[crm.ActivityView]](t, s, "log_activity", obj{"kind": "call", "subject": "Intro call", "body": "Went well.\nNext: demo.",
			"company_id": co.Record.ID, "occurred_at": "2025-03-01T14:00:00Z", "idempotency_key": "call-1"})
		if !again.Replayed || again.Record.ID != note.Record.ID {
			t.Fatalf("retry = %+v", again)
		}
		overdue := call[crm.WriteOut[crm.ActivityView]](t, s, "log_activity", obj{"kind": "task", "subject": "Send quote", "due_date": past, "company_id": co.Record.ID})
		if !overdue.Record.Overdue {
			t.Fatalf("task due %s is not overdue: %+v", past, overdue.Record)
		}
		call[crm.WriteOut[crm.ActivityView]](t, s, "log_activity", obj{"kind": "task", "subject": "Check in", "due_date": future, "company_id": co.Record.ID})
		call[crm.WriteOut[crm.ActivityView]](t, s, "log_activity", obj{"kind": "task", "subject": "Someday", "company_id": co.Record.ID})

		open := call[crm.ListTasksOut](t, s, "list_tasks", obj{})
		if open.Count != 3 || open.Tasks[0].Subject != "Send quote" || open.Tasks[2].Subject != "Someday" {
			t.Fatalf("open tasks = %+v", open.Tasks)
		}
		od := call[crm.ListTasksOut](t, s, "list_tasks", obj{"status": "overdue"})
		if od.Count != 1 || od.Tasks[0].ID != overdue.Record.ID {
			t.Fatalf("overdue = %+v", od.Tasks)
		}
		page := call[crm.ListTasksOut](t, s, "list_tasks", obj{"limit": 2})
		if page.NextCursor == "" {
			t.Fatal("no next page")
		}
		rest := call[crm.ListTasksOut](t, s, "list_tasks", obj{"limit": 2, "cursor": page.NextCursor})
		if rest.Count != 1 || rest.NextCursor != "" {
			t.Fatalf("page 2 = %+v", rest)
		}

		done := call[crm.WriteOut[crm.ActivityView]](t, s, "update_activity", obj{"id": overdue.Record.ID, "expected_version": 1, "done": true})
		if !done.Record.Done || done.Record.Overdue {
			t.Fatalf("done = %+v", done.Record)
		}
		if od := call[crm.ListTasksOut](t, s, "list_tasks", obj{"status": "overdue"}); od.Count != 0 {
			t.Fatalf("done task still overdue: %+v", od)
		}
		callErr(t, s, "update_activity", obj{"id": overdue.Record.ID, "expected_version": 1, "done": false}, "conflict")
		callErr(t, s, "update_activity", obj{"id": note.Record.ID, "expected_version": 1, "done": true}, "tasks only")
		callErr(t, s, "log_activity", obj{"kind": "lunch", "subject": "x", "company_id": co.Record.ID}, `kind: value "lunch" is not one of: note, call, email, meeting, task`)
		callErr(t, s, "log_activity", obj{"kind": "note", "subject": "x"}, "link the activity")
		callErr(t, s, "log_activity", obj{"kind": "note", "subject": "x", "deal_id": 777}, "deal 777 not found")
		callErr(t, s, "log_activity", obj{"kind": "note", "subject": "x", "company_id": co.Record.ID, "due_date": past}, "tasks only")
		callErr(t, s, "log_activity", obj{"kind": "note", "subject": "x", "company_id": co.Record.ID, "occurred_at": "yesterday"}, "RFC 3339")
		callErr(t, s, "list_tasks", obj{"status": "late"}, `status: value "late" is not one of: open, overdue`)

		rec := call[crm.RecordOut](t, s, "get_record", obj{"type": "companies", "id": co.Record.ID})
		if len(rec.Related.RecentActivities) != 4 || rec.Related.RecentActivities[len(rec.Related.RecentActivities)-1].ID != note.Record.ID {
			t.Fatalf("recent activity = %+v", rec.Related.RecentActivities)
		}
		call[crm.DeleteOut](t, s, "delete_record", obj{"type": "activities", "id": note.Record.ID})
		callErr(t, s, "get_record", obj{"type": "activities", "id": note.Record.ID}, "not found")
	})
}
