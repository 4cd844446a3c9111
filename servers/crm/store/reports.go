package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// PipelineQuery selects the deals a pipeline summary covers.
type PipelineQuery struct {
	Pipeline string
	OwnerID  int64
	// Period groups by expected close date: "month" or "quarter".
	Period string
	// From and To bound the expected close date (inclusive); deals without
	// one are left out when either is set.
	From, To Date
}

// PipelineRow is one group of deals: same stage, status, owner, close
// period and currency.
type PipelineRow struct {
	Stage       string
	Status      string
	OwnerID     *int64
	Period      string // "" when the deals have no close date
	Currency    string
	Count       int64
	AmountMinor int64
}

// PipelineRows aggregates the pipeline's deals in the database.
func (s *Store) PipelineRows(ctx context.Context, q PipelineQuery) ([]PipelineRow, error) {
	if q.Period != "month" && q.Period != "quarter" {
		return nil, fmt.Errorf("store: period %q is not month or quarter", q.Period)
	}
	period := "COALESCE(" + s.d.period("close_date", q.Period) + ", '')"
	conds := []string{"pipeline = ?"}
	args := []any{q.Pipeline}
	if q.OwnerID != 0 {
		conds = append(conds, "owner_id = ?")
		args = append(args, q.OwnerID)
	}
	if q.From != "" {
		conds = append(conds, "close_date >= ?")
		args = append(args, q.From)
	}
	if q.To != "" {
		conds = append(conds, "close_date <= ?")
		args = append(args, q.To)
	}
	rows, err := s.query(ctx, nil, "SELECT stage, status, owner_id, "+period+", currency, COUNT(*), COALESCE(SUM(amount_minor), 0) FROM deals WHERE "+
		strings.Join(conds, " AND ")+" GROUP BY stage, status, owner_id, "+period+", currency", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PipelineRow
	for rows.Next() {
		var r PipelineRow
		if err := rows.Scan(&r.Stage, &r.Status, &r.OwnerID, &r.Period, &r.Currency, &r.Count, &r.AmountMinor); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DuplicateGroup is a set of contacts that look like the same person.
type DuplicateGroup struct {
	// Reason is the first rule that matched: "same_email", "same_phone"
	// or "same_name_company".
	Reason string
	// Reasons are all the rules that put exactly these contacts together.
	Reasons []string
	// Key is the normalised value they share under Reason.
	Key        string
	ContactIDs []int64
}

// duplicateRules are the normalised keys contacts are compared on, from
// strongest to weakest. Each key expression is SQL over table alias c, the
// same in both dialects. A full name alone is no evidence (two people
// called Sam Kim are common); with the same company it is.
var duplicateRules = []struct {
	reason, key, present string
}{
	{"same_email", "lower(trim(c.email))", "trim(c.email) <> ''"},
	{"same_phone", phoneDigits, "length(" + phoneDigits + ") >= 7"},
	{"same_name_company", "lower(trim(c.first_name)) || ' ' || lower(trim(c.last_name)) || ' @' || CAST(c.company_id AS TEXT)",
		"trim(c.first_name) <> '' AND trim(c.last_name) <> '' AND c.company_id IS NOT NULL"},
}

// phoneDigits is a phone number without the punctuation checkPhone allows
// (an extension marker "x" stays, so "555-1234 x1" and "5551234" differ).
const phoneDigits = "replace(replace(replace(replace(replace(replace(replace(c.phone, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''), '+', ''), '/', '')"

// DuplicateContacts finds groups of contacts sharing an e-mail address, a
// phone number (ignoring punctuation) or a full name. With contactID set,
// only groups containing that contact are returned. At most limit groups per
// rule; groups are capped at 20 members.
func (s *Store) DuplicateContacts(ctx context.Context, contactID int64, limit int) ([]DuplicateGroup, error) {
	var out []DuplicateGroup
	for _, r := range duplicateRules {
		keyQ := "SELECT " + r.key + " FROM contacts c WHERE " + r.present + " GROUP BY " + r.key + " HAVING COUNT(*) > 1 ORDER BY 1 LIMIT ?"
		keyArgs := []any{limit}
		if contactID != 0 {
			keyQ = "SELECT " + r.key + " FROM contacts c WHERE " + r.present + " AND c.id = ?"
			keyArgs = []any{contactID}
		}
		rows, err := s.query(ctx, nil, "SELECT "+r.key+", c.id FROM contacts c WHERE "+r.present+" AND "+r.key+" IN ("+keyQ+") ORDER BY 1, c.id", keyArgs...)
		if err != nil {
			return nil, err
		}
		var groups []DuplicateGroup
		for rows.Next() {
			var key string
			var id int64
			if err := rows.Scan(&key, &id); err != nil {
				rows.Close()
				return nil, err
			}
			if n := len(groups); n == 0 || groups[n-1].Key != key {
				groups = append(groups, DuplicateGroup{Reason: r.reason, Key: key})
			}
			if g := &groups[len(groups)-1]; len(g.ContactIDs) < 20 {
				g.ContactIDs = append(g.ContactIDs, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for _, g := range groups {
			if len(g.ContactIDs) < 2 {
				continue
			}
			// The same contacts found by a weaker rule are one group with
			// two reasons, not two groups.
			g.Reasons = []string{g.Reason}
			if i := slices.IndexFunc(out, func(o DuplicateGroup) bool { return slices.Equal(o.ContactIDs, g.ContactIDs) }); i >= 0 {
				out[i].Reasons = append(out[i].Reasons, g.Reason)
				continue
			}
			out = append(out, g)
		}
	}
	return out, nil
}
