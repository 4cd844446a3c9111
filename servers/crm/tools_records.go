package crm

import (
	"context"
	"fmt"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// recordTypes and deletableTypes are the values of the type arguments.
var (
	recordTypes    = []string{string(store.Contacts), string(store.Companies), string(store.Deals), string(store.Activities), string(store.Owners)}
	deletableTypes = []string{string(store.Contacts), string(store.Companies), string(store.Deals), string(store.Activities)}
)

// Enums lists the values core accepts for SearchIn's enumerated properties.
func (SearchIn) Enums() map[string][]string {
	return map[string][]string{"type": recordTypes, "status": {"open", "won", "lost"}, "activity_kind": activityKinds}
}

// Enums lists the values core accepts for GetRecordIn's type.
func (GetRecordIn) Enums() map[string][]string { return map[string][]string{"type": recordTypes} }

// Enums lists the values core accepts for DeleteIn's type.
func (DeleteIn) Enums() map[string][]string { return map[string][]string{"type": deletableTypes} }

// SearchIn are the arguments of search_records.
type SearchIn struct {
	Type         string `json:"type" jsonschema:"what to search: contacts, companies, deals, activities or owners"`
	Query        string `json:"query,omitempty" jsonschema:"words to find (prefix match on names, e-mail, title, domain, industry, deal name, activity subject and body), best matches first; leave out to list in id order"`
	OwnerID      int64  `json:"owner_id,omitempty" jsonschema:"only records owned by this owner"`
	CompanyID    int64  `json:"company_id,omitempty" jsonschema:"contacts, deals or activities of this company"`
	ContactID    int64  `json:"contact_id,omitempty" jsonschema:"deals or activities of this contact"`
	DealID       int64  `json:"deal_id,omitempty" jsonschema:"contacts or activities of this deal"`
	Pipeline     string `json:"pipeline,omitempty" jsonschema:"deals in this pipeline"`
	Stage        string `json:"stage,omitempty" jsonschema:"deals in this stage"`
	Status       string `json:"status,omitempty" jsonschema:"deals that are open, won or lost"`
	ActivityKind string `json:"activity_kind,omitempty" jsonschema:"activities of this kind: note, call, email, meeting or task"`
	Limit        int    `json:"limit,omitempty" jsonschema:"results per page, 1 to 100 (default 20)"`
	Cursor       string `json:"cursor,omitempty" jsonschema:"next_cursor from the previous page, with the same other arguments"`
}

// SearchOut is one page of search_records results; only the list for the
// searched type is present.
type SearchOut struct {
	Type       string         `json:"type"`
	Count      int            `json:"count" jsonschema:"results on this page"`
	Owners     []OwnerView    `json:"owners,omitempty"`
	Companies  []CompanyView  `json:"companies,omitempty"`
	Contacts   []ContactView  `json:"contacts,omitempty"`
	Deals      []DealView     `json:"deals,omitempty"`
	Activities []ActivityView `json:"activities,omitempty"`
	NextCursor string         `json:"next_cursor,omitempty" jsonschema:"pass as cursor for the next page; absent on the last page"`
}

func newSearchRecords(s *Service) *core.ToolDef {
	return core.NewTool(core.ToolSpec{
		Name:  "search_records",
		Title: "Search CRM records",
		Description: "Find contacts, companies, deals, activities or owners by words and filters, with paging. " +
			"Use it to look up ids before get_record or an update. Filters apply only to types that have them " +
			"(stage/pipeline/status: deals; activity_kind: activities). Results include each record's version.",
		Toolset: toolsetRecords, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.No,
		Classification: core.Confidential, Permissions: core.NoPermissions,
	}, s.search)
}

func (s *Service) search(ctx context.Context, _ *core.Call, in SearchIn) (SearchOut, error) {
	kind := store.Kind(in.Type) // core validated it against the enum
	if err := checkText("query", in.Query, 500, false); err != nil {
		return SearchOut{}, err
	}
	limit, err := pageLimit(in.Limit)
	if err != nil {
		return SearchOut{}, err
	}
	q := store.SearchQuery{Kind: kind, Text: in.Query, OwnerID: in.OwnerID, CompanyID: in.CompanyID, ContactID: in.ContactID,
		DealID: in.DealID, Pipeline: in.Pipeline, Stage: in.Stage, Status: in.Status, ActivityKind: in.ActivityKind, Limit: limit}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"owner_id", in.OwnerID != 0}, {"company_id", in.CompanyID != 0}, {"contact_id", in.ContactID != 0},
		{"deal_id", in.DealID != 0}, {"pipeline", in.Pipeline != ""}, {"stage", in.Stage != ""},
		{"status", in.Status != ""}, {"activity_kind", in.ActivityKind != ""},
	} {
		if f.set && !store.FilterApplies(kind, f.name) {
			return SearchOut{}, fmt.Errorf("filter %s does not apply to %s; remove it", f.name, kind)
		}
	}
	if err := checkText("pipeline", in.Pipeline, maxName, false); err != nil {
		return SearchOut{}, err
	}
	if err := checkText("stage", in.Stage, maxName, false); err != nil {
		return SearchOut{}, err
	}
	fp := fingerprint("search", q)
	cur, err := decodeCursor(in.Cursor, fp)
	if err != nil {
		return SearchOut{}, err
	}
	q.Offset, q.AfterID = cur.Offset, cur.After
	st, err := s.store()
	if err != nil {
		return SearchOut{}, err
	}
	out := SearchOut{Type: string(kind)}
	var (
		more   bool
		n      int
		lastID int64
	)
	switch kind {
	case store.Owners:
		out.Owners, more, lastID, err = searchPage(ctx, st.SearchOwners, q, ownerView)
		n = len(out.Owners)
	case store.Companies:
		out.Companies, more, lastID, err = searchPage(ctx, st.SearchCompanies, q, companyView)
		n = len(out.Companies)
	case store.Contacts:
		out.Contacts, more, lastID, err = searchPage(ctx, st.SearchContacts, q, contactView)
		n = len(out.Contacts)
	case store.Deals:
		out.Deals, more, lastID, err = searchPage(ctx, st.SearchDeals, q, s.dealView)
		n = len(out.Deals)
	case store.Activities:
		out.Activities, more, lastID, err = searchPage(ctx, st.SearchActivities, q, s.activityView)
		n = len(out.Activities)
	}
	out.Count = n
	if err != nil {
		return SearchOut{}, s.explain(ctx, err)
	}
	if more {
		next := cursor{Query: fp}
		if in.Query != "" {
			next.Offset = q.Offset + limit
		} else {
			next.After = lastID
		}
		if next.Offset <= maxOffset {
			out.NextCursor = next.encode()
		}
	}
	return out, nil
}

// searchPage runs one typed search and returns its views, whether more
// follow and the last id (the keyset cursor).
func searchPage[T interface{ RecordID() int64 }, V any](ctx context.Context, search func(context.Context, store.SearchQuery) ([]T, bool, error),
	q store.SearchQuery, view func(T) V) ([]V, bool, int64, error) {
	items, more, err := search(ctx, q)
	if err != nil || len(items) == 0 {
		return nil, more, 0, err
	}
	return mapSlice(items, view), more, items[len(items)-1].RecordID(), nil
}

// GetRecordIn are the arguments of get_record.
type GetRecordIn struct {
	Type         string `json:"type" jsonschema:"contacts, companies, deals, activities or owners"`
	ID           int64  `json:"id" jsonschema:"the record's id"`
	RelatedLimit int    `json:"related_limit,omitempty" jsonschema:"how many linked contacts, deals and recent activities to include, 0 to 50 (default 10)"`
}

// RelatedView holds what is linked to a record.
type RelatedView struct {
	Owner            *OwnerView     `json:"owner,omitempty"`
	Company          *CompanyView   `json:"company,omitempty"`
	Contacts         []ContactView  `json:"contacts,omitempty"`
	MoreContacts     bool           `json:"more_contacts,omitempty" jsonschema:"more contacts exist: search_records with a company_id or deal_id filter lists them"`
	Deals            []DealView     `json:"deals,omitempty"`
	MoreDeals        bool           `json:"more_deals,omitempty" jsonschema:"more deals exist: search_records with a company_id or contact_id filter lists them"`
	RecentActivities []ActivityView `json:"recent_activities,omitempty" jsonschema:"newest first"`
}

// RecordOut is one record of the given type with what is linked to it.
type RecordOut struct {
	Type     string        `json:"type"`
	Owner    *OwnerView    `json:"owner,omitempty"`
	Company  *CompanyView  `json:"company,omitempty"`
	Contact  *ContactView  `json:"contact,omitempty"`
	Deal     *DealView     `json:"deal,omitempty"`
	Activity *ActivityView `json:"activity,omitempty"`
	Related  *RelatedView  `json:"related,omitempty"`
}

func newGetRecord(s *Service) *core.ToolDef {
	return core.NewTool(core.ToolSpec{
		Name:  "get_record",
		Title: "Get a CRM record",
		Description: "Read one contact, company, deal, activity or owner by id, with its associations (company, contacts, " +
			"deals, owner) and recent activity. The result's version is what updates need as expected_version.",
		Toolset: toolsetRecords, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.No,
		Classification: core.Confidential, Permissions: core.NoPermissions,
	}, func(ctx context.Context, _ *core.Call, in GetRecordIn) (RecordOut, error) {
		kind := store.Kind(in.Type) // core validated it against the enum
		if err := checkID("id", in.ID); err != nil {
			return RecordOut{}, err
		}
		limit := in.RelatedLimit
		if limit == 0 {
			limit = 10
		}
		if limit < 0 || limit > 50 {
			return RecordOut{}, fmt.Errorf("related_limit %d is out of range 0 to 50", in.RelatedLimit)
		}
		return s.Record(ctx, kind, in.ID, limit)
	})
}

// Record reads one record and what is linked to it.
func (s *Service) Record(ctx context.Context, kind store.Kind, id int64, relatedLimit int) (RecordOut, error) {
	st, err := s.store()
	if err != nil {
		return RecordOut{}, err
	}
	out := RecordOut{Type: string(kind)}
	var ownerID *int64
	switch kind {
	case store.Owners:
		o, err := st.Owner(ctx, id)
		if err != nil {
			return RecordOut{}, s.explain(ctx, err)
		}
		out.Owner = new(ownerView(o))
		return out, nil
	case store.Activities:
		a, err := st.Activity(ctx, id)
		if err != nil {
			return RecordOut{}, s.explain(ctx, err)
		}
		out.Activity = new(s.activityView(a))
		return out, nil
	case store.Companies:
		c, err := st.Company(ctx, id)
		if err != nil {
			return RecordOut{}, s.explain(ctx, err)
		}
		out.Company, ownerID = new(companyView(c)), c.OwnerID
	case store.Contacts:
		c, err := st.Contact(ctx, id)
		if err != nil {
			return RecordOut{}, s.explain(ctx, err)
		}
		out.Contact, ownerID = new(contactView(c)), c.OwnerID
	case store.Deals:
		d, err := st.Deal(ctx, id)
		if err != nil {
			return RecordOut{}, s.explain(ctx, err)
		}
		out.Deal, ownerID = new(s.dealView(d)), d.OwnerID
	}
	rel := &RelatedView{}
	if relatedLimit > 0 {
		r, err := st.Related(ctx, kind, id, relatedLimit)
		if err != nil {
			return RecordOut{}, s.explain(ctx, err)
		}
		if r.Company != nil {
			rel.Company = new(companyView(*r.Company))
		}
		rel.Contacts, rel.MoreContacts = mapSlice(r.Contacts, contactView), r.MoreContacts
		rel.Deals, rel.MoreDeals = mapSlice(r.Deals, s.dealView), r.MoreDeals
		rel.RecentActivities = mapSlice(r.Activities, s.activityView)
	}
	if ownerID != nil {
		if o, err := st.Owner(ctx, *ownerID); err == nil {
			rel.Owner = new(ownerView(o))
		}
	}
	out.Related = rel
	return out, nil
}

// DeleteIn are the arguments of delete_record.
type DeleteIn struct {
	Type            string `json:"type" jsonschema:"contacts, companies, deals or activities"`
	ID              int64  `json:"id" jsonschema:"the record's id"`
	ExpectedVersion int64  `json:"expected_version,omitempty" jsonschema:"delete only if the record is still at this version (recommended)"`
}

// DeleteOut confirms a deletion.
type DeleteOut struct {
	Deleted bool   `json:"deleted"`
	Type    string `json:"type"`
	ID      int64  `json:"id"`
	Effect  string `json:"effect" jsonschema:"what happened to linked records"`
}

var deleteEffects = map[store.Kind]string{
	store.Companies:  "the company's contacts, deals and activities remain, without the company link",
	store.Contacts:   "the contact was removed from its deals; its activities remain without the contact link",
	store.Deals:      "the deal's contact links were removed; its activities remain without the deal link",
	store.Activities: "the activity was removed",
}

func newDeleteRecord(s *Service) *core.ToolDef {
	return core.NewTool(core.ToolSpec{
		Name:  "delete_record",
		Title: "Delete a CRM record",
		Description: "Permanently delete a contact, company, deal or activity. Linked records stay but lose the link. " +
			"This cannot be undone: confirm with the user first, and pass expected_version to avoid deleting a record someone just changed.",
		Toolset: toolsetRecords, Effect: core.Destructive, Idempotent: core.Yes, OpenWorld: core.No,
		Classification: core.Internal, Permissions: core.NoPermissions,
	}, func(ctx context.Context, _ *core.Call, in DeleteIn) (DeleteOut, error) {
		kind := store.Kind(in.Type) // core validated it against the enum
		if err := checkID("id", in.ID); err != nil {
			return DeleteOut{}, err
		}
		if in.ExpectedVersion < 0 {
			return DeleteOut{}, fmt.Errorf("expected_version %d is negative", in.ExpectedVersion)
		}
		st, err := s.store()
		if err != nil {
			return DeleteOut{}, err
		}
		if err := st.Delete(ctx, kind, in.ID, in.ExpectedVersion); err != nil {
			return DeleteOut{}, s.explain(ctx, err)
		}
		return DeleteOut{Deleted: true, Type: string(kind), ID: in.ID, Effect: deleteEffects[kind]}, nil
	})
}
