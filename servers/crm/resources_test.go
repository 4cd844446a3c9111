package crm_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpfleet/mcpfleet/servers/crm"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

func TestResourcesAndPrompts(t *testing.T) {
	s := startServer(t, store.SQLite, "  load_demo_data: true\n")
	ctx := t.Context()
	tpls, err := s.cs.ListResourceTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, rt := range tpls.ResourceTemplates {
		uris = append(uris, rt.URITemplate)
	}
	if strings.Join(uris, " ") != "crm://companies/{id} crm://contacts/{id} crm://deals/{id}" {
		t.Fatalf("templates = %v", uris)
	}
	res, err := s.cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "crm://companies/1"})
	if err != nil {
		t.Fatal(err)
	}
	var rec crm.RecordOut
	if err := json.Unmarshal([]byte(res.Contents[0].Text), &rec); err != nil || rec.Company == nil || rec.Company.ID != 1 || len(rec.Related.Contacts) == 0 {
		t.Fatalf("companies/1 = %s (%v)", res.Contents[0].Text, err)
	}
	for _, uri := range []string{"crm://contacts/5", "crm://deals/3"} {
		if _, err := s.cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri}); err != nil {
			t.Fatalf("%s: %v", uri, err)
		}
	}
	for _, uri := range []string{"crm://contacts/999999", "crm://contacts/abc", "crm://contacts/-1"} {
		if _, err := s.cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri}); err == nil {
			t.Fatalf("%s: read succeeded", uri)
		}
	}

	brief, err := s.cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "account_brief", Arguments: map[string]string{"company_id": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	text := brief.Messages[0].Content.(*mcp.TextContent).Text
	if !strings.Contains(text, rec.Company.Name) || strings.Contains(text, "@") {
		t.Fatalf("account brief lacks the company or carries e-mail addresses:\n%s", text)
	}
	review, err := s.cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "pipeline_review"})
	if err != nil {
		t.Fatal(err)
	}
	if text := review.Messages[0].Content.(*mcp.TextContent).Text; !strings.Contains(text, `"weighted"`) {
		t.Fatalf("pipeline review lacks the forecast:\n%s", text)
	}
	for _, args := range []map[string]string{{"company_id": "x"}, {"company_id": fmt.Sprint(1 << 40)}} {
		if _, err := s.cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "account_brief", Arguments: args}); err == nil {
			t.Fatalf("account_brief %v succeeded", args)
		}
	}
	if _, err := s.cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "pipeline_review", Arguments: map[string]string{"owner_id": "me"}}); err == nil {
		t.Fatal("pipeline_review with a bad owner_id succeeded")
	}
}

// TestDemoData checks the demo set: loaded once into an empty database,
// with overdue tasks, deals in every stage and duplicates to find.
func TestDemoData(t *testing.T) {
	eachDriver(t, "  load_demo_data: true\n", func(t *testing.T, s *server) {
		n := s.counts(t)
		if n[store.Companies] != 32 || n[store.Contacts] != 200 || n[store.Deals] != 72 || n[store.Activities] != 200 || n[store.Owners] != 4 {
			t.Fatalf("demo counts = %v", n)
		}
		if loaded, err := s.svc.LoadDemoIfEmpty(t.Context()); err != nil || loaded {
			t.Fatalf("second load: loaded=%v err=%v", loaded, err)
		}
		if od := call[crm.ListTasksOut](t, s, "list_tasks", obj{"status": "overdue", "limit": 100}); od.Count == 0 {
			t.Fatal("demo data has no overdue tasks")
		}
		if d := call[crm.DuplicatesOut](t, s, "find_duplicate_contacts", obj{}); d.Count == 0 {
			t.Fatal("demo data has no duplicates")
		}
		sum := call[crm.PipelineSummaryOut](t, s, "pipeline_summary", obj{})
		for _, st := range sum.Stages {
			if st.Count == 0 {
				t.Fatalf("stage %s has no demo deals", st.Stage)
			}
		}
	})
}
