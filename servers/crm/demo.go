package crm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// Demo data: a deterministic set (the same records on every load; dates are
// relative to the load day so that tasks are overdue and deals close soon)
// that makes a fresh server useful in a minute.
var (
	demoOwners = []OwnerConfig{
		{Name: "Avery Stone", Email: "avery.stone@demo-crm.example"},
		{Name: "Blake Rivera", Email: "blake.rivera@demo-crm.example"},
		{Name: "Casey Nguyen", Email: "casey.nguyen@demo-crm.example"},
		{Name: "Devon Patel", Email: "devon.patel@demo-crm.example"},
	}
	demoCompanyA = []string{"Northwind", "Bluefin", "Copperleaf", "Ironbark", "Silverline", "Brightwater", "Redwood", "Summit",
		"Harbor", "Evergreen", "Granite", "Lakeshore"}
	demoCompanyB = []string{"Logistics", "Analytics", "Robotics", "Foods", "Health", "Energy", "Capital", "Studios"}
	demoIndustry = map[string]string{"Logistics": "Transportation", "Analytics": "Software", "Robotics": "Manufacturing",
		"Foods": "Food & Beverage", "Health": "Healthcare", "Energy": "Utilities", "Capital": "Financial Services", "Studios": "Media"}
	demoFirst = []string{"Ada", "Ben", "Chloe", "Diego", "Emma", "Farah", "Gabriel", "Hana", "Ivan", "Julia", "Kofi", "Lena",
		"Marco", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera", "Wei", "Yara", "Zoe"}
	demoLast = []string{"Andersen", "Brooks", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hughes", "Ito", "Jensen",
		"Kim", "Larsen", "Moreau", "Novak", "Okafor", "Petrov", "Rossi", "Schmidt", "Tanaka", "Vargas"}
	demoTitles   = []string{"CEO", "CTO", "VP Sales", "Head of Procurement", "Operations Manager", "IT Director", "CFO", "Product Lead"}
	demoDealKind = []string{"Platform licence", "Pilot project", "Support renewal", "Expansion", "Training package", "Integration"}
	demoNotes    = []string{"Discussed budget for next year", "Asked for a security questionnaire", "Interested in the analytics add-on",
		"Champion is moving teams", "Legal review started", "Competitor offered a discount", "Positive feedback on the demo"}
	demoTasks = []string{"Send proposal", "Follow up on pricing", "Schedule technical deep-dive", "Prepare renewal quote",
		"Share case study", "Confirm decision timeline"}
)

// Demo sizes.
const (
	demoCompanies = 32
	demoContacts  = 200
	demoDeals     = 72
)

// LoadDemoIfEmpty loads the demo data set when the database has no
// companies, contacts or deals. It reports whether it loaded anything.
func (s *Service) LoadDemoIfEmpty(ctx context.Context) (bool, error) {
	st, err := s.store()
	if err != nil {
		return false, err
	}
	counts, err := st.Counts(ctx)
	if err != nil {
		return false, err
	}
	if counts[store.Companies]+counts[store.Contacts]+counts[store.Deals]+counts[store.Activities] > 0 {
		return false, nil
	}
	return true, s.loadDemo(ctx, st)
}

// demoName is the name of demo contact i. Every contact has a name of its
// own (for i below 25*20 the first name repeats every 25 contacts and the
// last name then steps by 3 of 20), so the only duplicates in the demo set
// are the deliberate ones.
func demoName(i int) (first, last string) {
	f, q := i%len(demoFirst), i/len(demoFirst)
	return demoFirst[f], demoLast[(7*f+3*q)%len(demoLast)]
}

func (s *Service) loadDemo(ctx context.Context, st *store.Store) error {
	rng := rand.New(rand.NewPCG(2024, 7))
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	today := s.now().UTC().Truncate(24 * time.Hour)
	day := func(offset int) store.Date { return store.Date(today.AddDate(0, 0, offset).Format(time.DateOnly)) }

	var owners []int64
	for _, o := range demoOwners {
		ow, err := st.EnsureOwner(ctx, o.Name, o.Email)
		if err != nil {
			return err
		}
		owners = append(owners, ow.ID)
	}
	owner := func(i int) int64 { return owners[i%len(owners)] }

	var companyRows [][]any
	domains := make([]string, 0, demoCompanies)
	for i := range demoCompanies {
		a, b := demoCompanyA[i%len(demoCompanyA)], demoCompanyB[(i*5+i/len(demoCompanyA))%len(demoCompanyB)]
		domain := strings.ToLower(a+b) + ".example"
		domains = append(domains, domain)
		companyRows = append(companyRows, []any{a + " " + b, domain, demoIndustry[b], owner(i), map[string]any{}})
	}
	companyIDs, err := st.BulkInsert(ctx, store.Companies, []string{"name", "domain", "industry", "owner_id", "properties"}, companyRows)
	if err != nil {
		return err
	}

	var contactRows [][]any
	contactCompany := make([]int, 0, demoContacts)
	for i := range demoContacts {
		first, last := demoName(i)
		ci := rng.IntN(demoCompanies)
		email := strings.ToLower(first+"."+last) + "@" + domains[ci]
		phone := fmt.Sprintf("+1 555 %03d %04d", 100+ci, 1000+i)
		if i >= demoContacts-3 {
			// A few deliberate near-duplicates for find_duplicate_contacts.
			src := i - 150
			first, last = demoName(src)
			ci = contactCompany[src]
			email = strings.ToUpper(strings.ToLower(first+"."+last)+"@"+domains[ci][:1]) + domains[ci][1:]
		}
		contactCompany = append(contactCompany, ci)
		contactRows = append(contactRows, []any{first, last, email, phone, pick(demoTitles), companyIDs[ci], owner(ci), map[string]any{}})
	}
	contactIDs, err := st.BulkInsert(ctx, store.Contacts, []string{"first_name", "last_name", "email", "phone", "title", "company_id", "owner_id", "properties"}, contactRows)
	if err != nil {
		return err
	}

	p := s.cfg.Pipelines[0]
	currencies := []string{"USD", "USD", "USD", "EUR", "GBP"}
	var dealRows [][]any
	dealCompany := make([]int, 0, demoDeals)
	for i := range demoDeals {
		ci := i % demoCompanies
		stage := p.Stages[rng.IntN(len(p.Stages))]
		cur := currencies[rng.IntN(len(currencies))]
		amount := int64(5+rng.IntN(200)) * 500 * 100
		closeDate := day(rng.IntN(150) - 30)
		var closedAt any
		if stage.Status != "open" {
			closedAt = today.AddDate(0, 0, -rng.IntN(60))
		}
		name := fmt.Sprintf("%s - %s", strings.SplitN(companyRows[ci][0].(string), " ", 2)[0], demoDealKind[rng.IntN(len(demoDealKind))])
		dealRows = append(dealRows, []any{name, p.Name, stage.Name, stage.Status, amount, cur, closeDate, companyIDs[ci], owner(ci), closedAt, map[string]any{}})
		dealCompany = append(dealCompany, ci)
	}
	dealIDs, err := st.BulkInsert(ctx, store.Deals, []string{"name", "pipeline", "stage", "status", "amount_minor", "currency", "close_date",
		"company_id", "owner_id", "closed_at", "properties"}, dealRows)
	if err != nil {
		return err
	}
	var links [][2]int64
	for di, ci := range dealCompany {
		n := 0
		for k, cc := range contactCompany {
			if cc == ci && n < 2 {
				links = append(links, [2]int64{dealIDs[di], contactIDs[k]})
				n++
			}
		}
	}
	if err := st.LinkDealContacts(ctx, links); err != nil {
		return err
	}

	var activityRows [][]any
	for i := range 160 {
		di := rng.IntN(demoDeals)
		kind := []string{"note", "call", "email", "meeting"}[rng.IntN(4)]
		occurred := today.Add(-time.Duration(rng.IntN(90*24)) * time.Hour)
		activityRows = append(activityRows, []any{kind, pick(demoNotes), "", occurred, store.Date(""), false,
			companyIDs[dealCompany[di]], nil, dealIDs[di], owner(dealCompany[di] + i)})
	}
	for i := range 40 {
		ci := rng.IntN(demoContacts)
		due := day(rng.IntN(30) - 12) // about 40% overdue
		done := i%5 == 0
		activityRows = append(activityRows, []any{"task", pick(demoTasks), "", today.Add(-48 * time.Hour), due, done,
			companyIDs[contactCompany[ci]], contactIDs[ci], nil, owner(contactCompany[ci])})
	}
	_, err = st.BulkInsert(ctx, store.Activities, []string{"kind", "subject", "body", "occurred_at", "due_date", "done",
		"company_id", "contact_id", "deal_id", "owner_id"}, activityRows)
	return err
}
