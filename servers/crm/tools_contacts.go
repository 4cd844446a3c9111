package crm

import (
	"context"
	"errors"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// ContactFields are a contact's writable fields; on update only the fields
// given change.
type ContactFields struct {
	FirstName  *string        `json:"first_name,omitempty" jsonschema:"given name"`
	LastName   *string        `json:"last_name,omitempty" jsonschema:"family name"`
	Email      *string        `json:"email,omitempty" jsonschema:"e-mail address like name@example.com (personal data); empty string clears"`
	Phone      *string        `json:"phone,omitempty" jsonschema:"phone number, digits with + - ( ) . and spaces (personal data); empty string clears"`
	Title      *string        `json:"title,omitempty" jsonschema:"job title"`
	CompanyID  *int64         `json:"company_id,omitempty" jsonschema:"company the contact works for; 0 removes the link"`
	OwnerID    *int64         `json:"owner_id,omitempty" jsonschema:"owning user (search_records type owners); 0 removes"`
	Properties map[string]any `json:"properties,omitempty" jsonschema:"custom property values by name; on update a null value removes one"`
}

// CreateContactIn are the arguments of create_contact.
type CreateContactIn struct {
	ContactFields
	IdempotencyKey string `json:"idempotency_key,omitempty" jsonschema:"any unique string; retrying with the same key and arguments returns the first result instead of creating a duplicate"`
}

// UpdateContactIn are the arguments of update_contact.
type UpdateContactIn struct {
	ID              int64 `json:"id" jsonschema:"the contact's id"`
	ExpectedVersion int64 `json:"expected_version" jsonschema:"the version you read; if the contact changed since, the update is refused as a conflict"`
	ContactFields
}

func (s *Service) contactValues(ctx context.Context, in ContactFields, id, expected int64) ([]store.Value, error) {
	var f fieldSet
	empty := func(p *string) bool { return p == nil || *p == "" }
	if id == 0 && empty(in.FirstName) && empty(in.LastName) && empty(in.Email) {
		f.fail(errors.New("a contact needs at least a first_name, last_name or email"))
	}
	f.text("first_name", in.FirstName, maxName, false)
	f.text("last_name", in.LastName, maxName, false)
	f.checked("email", in.Email, checkEmail)
	f.checked("phone", in.Phone, checkPhone)
	f.text("title", in.Title, maxName, false)
	f.ref("company_id", in.CompanyID)
	f.ref("owner_id", in.OwnerID)
	if err := s.properties(ctx, &f, store.Contacts, in.Properties, id, expected); err != nil {
		return nil, err
	}
	return f.vals, f.err()
}

func newCreateContact(s *Service) *core.ToolDef {
	return newCreateTool(core.ToolSpec{
		Name:  "create_contact",
		Title: "Create a contact",
		Description: "Create a contact (a person), optionally linked to a company. Check find_duplicate_contacts or search_records first " +
			"if the person may exist already. Pass an idempotency_key so that a retried call cannot create a duplicate." + s.propertiesHelp(store.Contacts),
		Toolset: toolsetRecords, Effect: core.Additive, Idempotent: core.No, OpenWorld: core.No,
		Classification: core.Confidential, Permissions: core.NoPermissions,
	}, nil, []string{"first_name", "last_name", "email"}, func(ctx context.Context, _ *core.Call, in CreateContactIn) (WriteOut[ContactView], error) {
		vals, err := s.contactValues(ctx, in.ContactFields, 0, 0)
		if err != nil {
			return WriteOut[ContactView]{}, err
		}
		id, replayed, err := s.create(ctx, store.Write{Kind: store.Contacts, Set: vals}, in.IdempotencyKey, in.ContactFields)
		if err != nil {
			return WriteOut[ContactView]{}, err
		}
		return result(ctx, s, (*store.Store).Contact, contactView, id, replayed)
	})
}

func newUpdateContact(s *Service) *core.ToolDef {
	return core.NewTool(core.ToolSpec{
		Name:  "update_contact",
		Title: "Update a contact",
		Description: "Change some fields of a contact; fields left out keep their values. expected_version must be the version " +
			"you last read: a contact changed by someone else since is a conflict, never overwritten." + s.propertiesHelp(store.Contacts),
		Toolset: toolsetRecords, Effect: core.Additive, Idempotent: core.Yes, OpenWorld: core.No,
		Classification: core.Confidential, Permissions: core.NoPermissions,
	}, func(ctx context.Context, _ *core.Call, in UpdateContactIn) (WriteOut[ContactView], error) {
		if err := checkVersion(in.ID, in.ExpectedVersion); err != nil {
			return WriteOut[ContactView]{}, err
		}
		vals, err := s.contactValues(ctx, in.ContactFields, in.ID, in.ExpectedVersion)
		if err != nil {
			return WriteOut[ContactView]{}, err
		}
		if err := s.update(ctx, in.ID, in.ExpectedVersion, store.Write{Kind: store.Contacts, Set: vals}); err != nil {
			return WriteOut[ContactView]{}, err
		}
		return result(ctx, s, (*store.Store).Contact, contactView, in.ID, false)
	})
}
