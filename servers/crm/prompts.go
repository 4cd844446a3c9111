package crm

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// The prompts embed CRM data in the message text, so they are classified
// confidential like the records: the policy decides prompts/get as it
// decides get_record, and redacts for callers without clearance. Contacts
// still appear without e-mail and phone: a brief does not need them.

func promptText(role mcp.Role, text string) *mcp.PromptMessage {
	return &mcp.PromptMessage{Role: role, Content: &mcp.TextContent{Text: text}}
}

func jsonBlock(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return "```json\n" + string(b) + "\n```"
}

func newAccountBriefPrompt(s *Service) *core.PromptDef {
	return &core.PromptDef{
		Prompt: &mcp.Prompt{
			Name:        "account_brief",
			Title:       "Account brief",
			Description: "Brief on a company: who we know there, open and closed deals, recent activity, open tasks and suggested next steps.",
			Arguments:   []*mcp.PromptArgument{{Name: "company_id", Description: "the company's id (search_records type companies finds it)", Required: true}},
		},
		Classification: core.Confidential,
		Handler: func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			id, err := strconv.ParseInt(req.Params.Arguments["company_id"], 10, 64)
			if err != nil || id <= 0 {
				return nil, core.InvalidParams("company_id %s is not a company id: give a positive number; search_records with type companies finds ids", core.Quote(req.Params.Arguments["company_id"]))
			}
			rec, err := s.Record(ctx, store.Companies, id, 25)
			if err != nil {
				return nil, promptError(ctx, s, err)
			}
			if rec.Related != nil {
				if rec.Related.Owner != nil {
					rec.Related.Owner.Email = ""
				}
				for i := range rec.Related.Contacts {
					rec.Related.Contacts[i].Email, rec.Related.Contacts[i].Phone = "", ""
				}
			}
			name := rec.Company.Name
			text := "Write a concise account brief for " + name + " for a sales meeting. Cover: who we know there and their roles; " +
				"open deals with stage, amount and expected close; what was won or lost; the latest activity; overdue or open tasks; " +
				"risks; and three concrete next steps. Use only the CRM data below; say when something is unknown. " +
				"get_record and search_records (company_id filter) can fetch more.\n\n" + jsonBlock(rec)
			return &mcp.GetPromptResult{
				Description: "Account brief for " + name,
				Messages:    []*mcp.PromptMessage{promptText("user", text)},
			}, nil
		},
	}
}

func newPipelineReviewPrompt(s *Service) *core.PromptDef {
	return &core.PromptDef{
		Prompt: &mcp.Prompt{
			Name:        "pipeline_review",
			Title:       "Pipeline review",
			Description: "Review a deal pipeline: forecast by stage, owner and close period, with deals at risk and actions.",
			Arguments: []*mcp.PromptArgument{
				{Name: "pipeline", Description: "pipeline name (default: the first configured pipeline)"},
				{Name: "owner_id", Description: "review one owner's deals only"},
			},
		},
		Classification: core.Confidential,
		Handler: func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			in := PipelineSummaryIn{Pipeline: req.Params.Arguments["pipeline"]}
			if v := req.Params.Arguments["owner_id"]; v != "" {
				id, err := strconv.ParseInt(v, 10, 64)
				if err != nil || id <= 0 {
					return nil, core.InvalidParams("owner_id %s is not an owner id: give a positive number; search_records with type owners finds ids", core.Quote(v))
				}
				in.OwnerID = id
			}
			sum, err := s.pipelineSummary(ctx, nil, in)
			if err != nil {
				return nil, promptError(ctx, s, err)
			}
			text := "Review the " + sum.Pipeline + " pipeline as a sales manager would. Using the summary below: state the weighted " +
				"forecast per currency, where deals pile up or stall between stages, which owners and close periods carry the most risk, " +
				"and the five actions with the biggest effect. search_records (type deals, stage filter) and list_tasks (status overdue) " +
				"give the detail behind a number.\n\n" + jsonBlock(sum)
			return &mcp.GetPromptResult{
				Description: "Review of the " + sum.Pipeline + " pipeline",
				Messages:    []*mcp.PromptMessage{promptText("user", text)},
			}, nil
		},
	}
}

// promptError reports a failed prompt as a JSON-RPC error: what the caller
// named does not exist or is invalid (invalid params, with the way to find
// valid values), or the store failed (internal error).
func promptError(ctx context.Context, s *Service, err error) error {
	err = s.explain(ctx, err)
	if _, ok := err.(*jsonrpc.Error); ok {
		return err
	}
	return core.InvalidParams("%s", err.Error())
}
