package crm

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// A full export ("mcp-crm export --type all") is every record of every
// object type, with ids, versions and timestamps, as JSON Lines: a header
// line, then one line per record, parents first (owners, companies,
// contacts, deals, deal-contact links, activities). Custom property values
// travel inside their records. "mcp-crm import --type all" restores it into
// a fresh database, keeping every id so that every reference still holds;
// the per-type CSV files cannot do that, as their ids are new on import.

// ExportFormat names the full-export format in its header line.
const ExportFormat = "mcp-crm-export"

// exportVersion changes when the line format does.
const exportVersion = 1

// exportLine is one line of a full export: exactly one field is set.
type exportLine struct {
	Format      string             `json:"format,omitempty"`
	Version     int                `json:"version,omitempty"`
	Owner       *store.Owner       `json:"owner,omitempty"`
	Company     *store.Company     `json:"company,omitempty"`
	Contact     *store.Contact     `json:"contact,omitempty"`
	Deal        *store.Deal        `json:"deal,omitempty"`
	DealContact *store.DealContact `json:"deal_contact,omitempty"`
	Activity    *store.Activity    `json:"activity,omitempty"`
}

// ExportAll writes every record as a full export and returns how many of
// each type it wrote.
func (s *Service) ExportAll(ctx context.Context, w io.Writer) (map[string]int, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	counts := map[string]int{}
	put := func(name string, l exportLine) error {
		counts[name]++
		return enc.Encode(l)
	}
	err = errors.Join(
		enc.Encode(exportLine{Format: ExportFormat, Version: exportVersion}),
		st.EachOwner(ctx, func(o store.Owner) error { return put("owners", exportLine{Owner: &o}) }),
		st.EachCompany(ctx, func(c store.Company) error { return put("companies", exportLine{Company: &c}) }),
		st.EachContact(ctx, func(c store.Contact) error { return put("contacts", exportLine{Contact: &c}) }),
		st.EachDeal(ctx, func(d store.Deal) error { return put("deals", exportLine{Deal: &d}) }),
		st.EachDealContact(ctx, func(l store.DealContact) error { return put("deal_contacts", exportLine{DealContact: &l}) }),
		st.EachActivity(ctx, func(a store.Activity) error { return put("activities", exportLine{Activity: &a}) }),
	)
	if err != nil {
		return nil, err
	}
	return counts, bw.Flush()
}

// ImportAll restores a full export into an empty database, all or nothing,
// and returns how many rows each table received.
func (s *Service) ImportAll(ctx context.Context, r io.Reader) (map[string]int, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bufio.NewReader(r))
	dec.DisallowUnknownFields()
	var head exportLine
	if err := dec.Decode(&head); err != nil || head.Format != ExportFormat {
		return nil, fmt.Errorf("line 1: not a full export of mcp-crm (its first line is {\"format\":%q,...}); per-type CSV files import with --type companies|contacts|deals", ExportFormat)
	}
	if head.Version != exportVersion {
		return nil, fmt.Errorf("line 1: export format version %d; this mcp-crm reads version %d", head.Version, exportVersion)
	}
	line := 1
	counts, err := st.Restore(ctx, func() (any, error) {
		var l exportLine
		line++
		if err := dec.Decode(&l); errors.Is(err, io.EOF) {
			return nil, nil
		} else if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		set := slices.DeleteFunc([]any{deref(l.Owner), deref(l.Company), deref(l.Contact), deref(l.Deal), deref(l.DealContact), deref(l.Activity)},
			func(v any) bool { return v == nil })
		if len(set) != 1 {
			return nil, fmt.Errorf("line %d: a line holds exactly one of owner, company, contact, deal, deal_contact, activity", line)
		}
		return set[0], nil
	})
	if errors.Is(err, store.ErrNotEmpty) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w (nothing was imported)", err)
	}
	return counts, nil
}

// deref returns *p as an any, or nil for a nil pointer.
func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
