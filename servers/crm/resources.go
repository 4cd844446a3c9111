package crm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// recordTemplate serves crm://<kind>/{id}: the record with its associations
// and recent activity, as get_record returns it.
func (s *Service) recordTemplate(kind store.Kind, title string) *core.ResourceTemplateDef {
	prefix := "crm://" + string(kind) + "/"
	return &core.ResourceTemplateDef{
		Template: &mcp.ResourceTemplate{
			Name:        string(kind),
			Title:       title,
			URITemplate: prefix + "{id}",
			Description: "A " + kind.Singular() + " with its associations and recent activity, as JSON.",
			MIMEType:    "application/json",
		},
		// Contacts, and the contacts listed with companies and deals, carry
		// personal data.
		Classification: core.Confidential,
		Handler: func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			uri := req.Params.URI
			id, err := strconv.ParseInt(strings.TrimPrefix(uri, prefix), 10, 64)
			if !strings.HasPrefix(uri, prefix) || err != nil || id <= 0 {
				return nil, core.InvalidParams("%s is not a %s URI: the id must be a positive number, as in %s42; search_records with type %s lists ids",
					core.Quote(uri), kind.Singular(), prefix, kind)
			}
			rec, err := s.Record(ctx, kind, id, 10)
			if err != nil {
				var nf *store.NotFoundError
				if errors.As(err, &nf) {
					return nil, core.ResourceNotFound("%s not found: there is no %s %d; search_records with type %s lists ids", uri, kind.Singular(), id, kind)
				}
				return nil, s.explain(ctx, err)
			}
			b, err := json.Marshal(rec)
			if err != nil {
				return nil, fmt.Errorf("encoding %s: %w", uri, err)
			}
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "application/json", Text: string(b)}}}, nil
		},
	}
}

func newContactResource(s *Service) *core.ResourceTemplateDef {
	return s.recordTemplate(store.Contacts, "CRM contact")
}

func newCompanyResource(s *Service) *core.ResourceTemplateDef {
	return s.recordTemplate(store.Companies, "CRM company")
}

func newDealResource(s *Service) *core.ResourceTemplateDef {
	return s.recordTemplate(store.Deals, "CRM deal")
}
