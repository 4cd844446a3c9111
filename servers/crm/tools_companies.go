package crm

import (
	"context"
	"errors"
	"strings"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// CompanyFields are a company's writable fields; on update only the fields
// given change.
type CompanyFields struct {
	Name       *string        `json:"name,omitempty" jsonschema:"company name (required on create)"`
	Domain     *string        `json:"domain,omitempty" jsonschema:"web domain such as example.com; empty string clears"`
	Industry   *string        `json:"industry,omitempty" jsonschema:"industry, free text"`
	OwnerID    *int64         `json:"owner_id,omitempty" jsonschema:"owning user (search_records type owners); 0 removes"`
	Properties map[string]any `json:"properties,omitempty" jsonschema:"custom property values by name; on update a null value removes one"`
}

// CreateCompanyIn are the arguments of create_company.
type CreateCompanyIn struct {
	CompanyFields
	IdempotencyKey string `json:"idempotency_key,omitempty" jsonschema:"any unique string; retrying with the same key and arguments returns the first result instead of creating a duplicate"`
}

// UpdateCompanyIn are the arguments of update_company.
type UpdateCompanyIn struct {
	ID              int64 `json:"id" jsonschema:"the company's id"`
	ExpectedVersion int64 `json:"expected_version" jsonschema:"the version you read; if the company changed since, the update is refused as a conflict"`
	CompanyFields
}

func (s *Service) companyValues(ctx context.Context, in CompanyFields, id, expected int64) ([]store.Value, error) {
	var f fieldSet
	if id == 0 && (in.Name == nil || *in.Name == "") {
		f.fail(errors.New("name is required"))
	}
	if in.Name != nil && *in.Name == "" && id != 0 {
		f.fail(errors.New("name cannot be empty"))
	}
	f.text("name", in.Name, maxName, false)
	if in.Domain != nil {
		d := strings.ToLower(*in.Domain)
		f.checked("domain", &d, checkDomain)
	}
	f.text("industry", in.Industry, maxName, false)
	f.ref("owner_id", in.OwnerID)
	if err := s.properties(ctx, &f, store.Companies, in.Properties, id, expected); err != nil {
		return nil, err
	}
	return f.vals, f.err()
}

func newCreateCompany(s *Service) *core.ToolDef {
	return newCreateTool(core.ToolSpec{
		Name:        "create_company",
		Title:       "Create a company",
		Description: "Create a company. Pass an idempotency_key so that a retried call cannot create a duplicate." + s.propertiesHelp(store.Companies),
		Toolset:     toolsetRecords, Effect: core.Additive, Idempotent: core.No, OpenWorld: core.No,
		Classification: core.Internal, Permissions: core.NoPermissions,
	}, []string{"name"}, nil, func(ctx context.Context, _ *core.Call, in CreateCompanyIn) (WriteOut[CompanyView], error) {
		vals, err := s.companyValues(ctx, in.CompanyFields, 0, 0)
		if err != nil {
			return WriteOut[CompanyView]{}, err
		}
		id, replayed, err := s.create(ctx, store.Write{Kind: store.Companies, Set: vals}, in.IdempotencyKey, in.CompanyFields)
		if err != nil {
			return WriteOut[CompanyView]{}, err
		}
		return result(ctx, s, (*store.Store).Company, companyView, id, replayed)
	})
}

func newUpdateCompany(s *Service) *core.ToolDef {
	return core.NewTool(core.ToolSpec{
		Name:  "update_company",
		Title: "Update a company",
		Description: "Change some fields of a company; fields left out keep their values. expected_version must be the version " +
			"you last read: a company changed by someone else since is a conflict, never overwritten." + s.propertiesHelp(store.Companies),
		Toolset: toolsetRecords, Effect: core.Additive, Idempotent: core.Yes, OpenWorld: core.No,
		Classification: core.Internal, Permissions: core.NoPermissions,
	}, func(ctx context.Context, _ *core.Call, in UpdateCompanyIn) (WriteOut[CompanyView], error) {
		if err := checkVersion(in.ID, in.ExpectedVersion); err != nil {
			return WriteOut[CompanyView]{}, err
		}
		vals, err := s.companyValues(ctx, in.CompanyFields, in.ID, in.ExpectedVersion)
		if err != nil {
			return WriteOut[CompanyView]{}, err
		}
		if err := s.update(ctx, in.ID, in.ExpectedVersion, store.Write{Kind: store.Companies, Set: vals}); err != nil {
			return WriteOut[CompanyView]{}, err
		}
		return result(ctx, s, (*store.Store).Company, companyView, in.ID, false)
	})
}
