package crm

import (
	"fmt"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// The views are what tools return: flat JSON with ids for links, each
// record's version (for expected_version on update) and its resource URI.

// PersonalFields are the contact fields holding personal data. Tools and
// resources returning them are classified Confidential so that the policy
// module redacts them for callers without clearance.
var PersonalFields = []string{"email", "phone"}

// OwnerView is an owner.
type OwnerView struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email,omitempty" jsonschema:"owner's work e-mail (personal data)"`
}

// CompanyView is a company.
type CompanyView struct {
	ID         int64          `json:"id"`
	Version    int64          `json:"version" jsonschema:"pass as expected_version when updating"`
	Name       string         `json:"name"`
	Domain     string         `json:"domain,omitempty"`
	Industry   string         `json:"industry,omitempty"`
	OwnerID    *int64         `json:"owner_id,omitempty"`
	Properties map[string]any `json:"properties,omitempty" jsonschema:"custom properties"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
	URI        string         `json:"uri"`
}

// ContactView is a contact.
type ContactView struct {
	ID         int64          `json:"id"`
	Version    int64          `json:"version" jsonschema:"pass as expected_version when updating"`
	FirstName  string         `json:"first_name,omitempty"`
	LastName   string         `json:"last_name,omitempty"`
	Email      string         `json:"email,omitempty" jsonschema:"personal data"`
	Phone      string         `json:"phone,omitempty" jsonschema:"personal data"`
	Title      string         `json:"title,omitempty"`
	CompanyID  *int64         `json:"company_id,omitempty"`
	OwnerID    *int64         `json:"owner_id,omitempty"`
	Properties map[string]any `json:"properties,omitempty" jsonschema:"custom properties"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
	URI        string         `json:"uri"`
}

// DealView is a deal.
type DealView struct {
	ID          int64          `json:"id"`
	Version     int64          `json:"version" jsonschema:"pass as expected_version when updating"`
	Name        string         `json:"name"`
	Pipeline    string         `json:"pipeline"`
	Stage       string         `json:"stage"`
	Status      string         `json:"status" jsonschema:"open, won or lost"`
	Probability float64        `json:"probability" jsonschema:"win probability of the stage, 0 to 1"`
	Amount      float64        `json:"amount"`
	Currency    string         `json:"currency"`
	CloseDate   string         `json:"close_date,omitempty" jsonschema:"expected close date, YYYY-MM-DD"`
	CompanyID   *int64         `json:"company_id,omitempty"`
	OwnerID     *int64         `json:"owner_id,omitempty"`
	ContactIDs  []int64        `json:"contact_ids,omitempty"`
	ClosedAt    *time.Time     `json:"closed_at,omitempty"`
	Properties  map[string]any `json:"properties,omitempty" jsonschema:"custom properties"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	URI         string         `json:"uri"`
}

// ActivityView is an activity.
type ActivityView struct {
	ID         int64     `json:"id"`
	Version    int64     `json:"version" jsonschema:"pass as expected_version when updating"`
	Kind       string    `json:"kind" jsonschema:"note, call, email, meeting or task"`
	Subject    string    `json:"subject"`
	Body       string    `json:"body,omitempty"`
	OccurredAt time.Time `json:"occurred_at"`
	DueDate    string    `json:"due_date,omitempty"`
	Done       bool      `json:"done,omitempty"`
	Overdue    bool      `json:"overdue,omitempty"`
	CompanyID  *int64    `json:"company_id,omitempty"`
	ContactID  *int64    `json:"contact_id,omitempty"`
	DealID     *int64    `json:"deal_id,omitempty"`
	OwnerID    *int64    `json:"owner_id,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// clean applies the fleet's one rule for untrusted text (pkg/core/untrusted)
// to what the store returns: writes are cleaned already, but rows restored
// from an export or written by other programs may not be.
func clean(s string) string { return untrusted.Clean(s) }

func recordURI(kind store.Kind, id int64) string { return fmt.Sprintf("crm://%s/%d", kind, id) }

func ownerView(o store.Owner) OwnerView {
	return OwnerView{ID: o.ID, Name: clean(o.Name), Email: clean(o.Email)}
}

func companyView(c store.Company) CompanyView {
	return CompanyView{ID: c.ID, Version: c.Version, Name: clean(c.Name), Domain: clean(c.Domain), Industry: clean(c.Industry), OwnerID: c.OwnerID,
		Properties: c.Properties, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, URI: recordURI(store.Companies, c.ID)}
}

func contactView(c store.Contact) ContactView {
	return ContactView{ID: c.ID, Version: c.Version, FirstName: clean(c.FirstName), LastName: clean(c.LastName), Email: clean(c.Email), Phone: clean(c.Phone),
		Title: clean(c.Title), CompanyID: c.CompanyID, OwnerID: c.OwnerID, Properties: c.Properties,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, URI: recordURI(store.Contacts, c.ID)}
}

func (s *Service) dealView(d store.Deal) DealView {
	v := DealView{ID: d.ID, Version: d.Version, Name: clean(d.Name), Pipeline: d.Pipeline, Stage: d.Stage, Status: d.Status,
		Amount: fromMinor(d.AmountMinor, d.Currency), Currency: d.Currency, CloseDate: string(d.CloseDate),
		CompanyID: d.CompanyID, OwnerID: d.OwnerID, ContactIDs: d.ContactIDs, ClosedAt: d.ClosedAt, Properties: d.Properties,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, URI: recordURI(store.Deals, d.ID)}
	if p, err := s.cfg.pipeline(d.Pipeline); err == nil {
		if st, err := p.stage(d.Stage); err == nil {
			v.Probability = st.Probability
		}
	}
	return v
}

func (s *Service) activityView(a store.Activity) ActivityView {
	v := ActivityView{ID: a.ID, Version: a.Version, Kind: a.Kind, Subject: clean(a.Subject), Body: clean(a.Body), OccurredAt: a.OccurredAt,
		DueDate: string(a.DueDate), Done: a.Done, CompanyID: a.CompanyID, ContactID: a.ContactID, DealID: a.DealID,
		OwnerID: a.OwnerID, CreatedAt: a.CreatedAt}
	v.Overdue = a.Kind == "task" && !a.Done && a.DueDate != "" && string(a.DueDate) < s.today()
	return v
}

func mapSlice[T, V any](in []T, f func(T) V) []V {
	out := make([]V, len(in))
	for i, x := range in {
		out[i] = f(x)
	}
	return out
}
