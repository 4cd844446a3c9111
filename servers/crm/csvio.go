package crm

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// CSV import and export. Columns are named by the header row (any order,
// case-insensitive); custom properties are columns named after the
// property. Exports carry id, version and timestamps, which an import
// ignores, so an export can be imported into another database.

// csvColumns are the base columns per kind, in export order.
var csvColumns = map[store.Kind][]string{
	store.Companies: {"name", "domain", "industry", "owner_id"},
	store.Contacts:  {"first_name", "last_name", "email", "phone", "title", "company_id", "owner_id"},
	store.Deals:     {"name", "pipeline", "stage", "status", "amount", "currency", "close_date", "company_id", "owner_id"},
}

// csvReadOnly columns appear in exports and are ignored on import.
var csvReadOnly = []string{"id", "version", "created_at", "updated_at", "status"}

// CSVKinds are the kinds import and export handle.
var CSVKinds = []store.Kind{store.Companies, store.Contacts, store.Deals}

// ImportOptions control an import.
type ImportOptions struct {
	// SkipErrors imports the good rows of a file that has bad ones. Without
	// it a file with any bad row imports nothing.
	SkipErrors bool
}

// RowError is one bad row.
type RowError struct {
	Line    int
	Message string
}

func (e RowError) String() string { return fmt.Sprintf("line %d: %s", e.Line, e.Message) }

// ImportReport says what an import did.
type ImportReport struct {
	Kind     store.Kind
	Rows     int
	Imported int
	Errors   []RowError
}

// ErrImportRejected is returned when a file has bad rows and SkipErrors is
// off: nothing was imported.
var ErrImportRejected = errors.New("the file has bad rows; nothing was imported (fix them, or pass --skip-errors to import the good rows)")

// Import reads a CSV file of kind and inserts its rows in one transaction.
func (s *Service) Import(ctx context.Context, kind store.Kind, r io.Reader, opts ImportOptions) (ImportReport, error) {
	rep := ImportReport{Kind: kind}
	base, ok := csvColumns[kind]
	if !ok {
		return rep, fmt.Errorf("cannot import %s: use companies, contacts or deals", core.Quote(string(kind)))
	}
	st, err := s.store()
	if err != nil {
		return rep, err
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return rep, fmt.Errorf("line 1: reading the header: %w", err)
	}
	cols, err := s.csvHeader(kind, base, header)
	if err != nil {
		return rep, fmt.Errorf("line 1: %w", err)
	}
	cr.FieldsPerRecord = len(header)

	var (
		rows  [][]any
		lines []int
		refs  = map[string]map[int64][]int{} // column -> id -> lines
	)
	insertCols := insertColumns(kind)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			rep.Rows++
			rep.Errors = append(rep.Errors, RowError{Line: pe.StartLine, Message: pe.Err.Error()})
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				continue
			}
			// A quoting error leaves the reader unable to find the next row.
			break
		}
		if err != nil {
			return rep, err
		}
		rep.Rows++
		line, _ := cr.FieldPos(0)
		vals, err := s.csvRow(ctx, kind, cols, rec)
		if err != nil {
			rep.Errors = append(rep.Errors, RowError{Line: line, Message: strings.TrimPrefix(err.Error(), "invalid input (nothing was saved): ")})
			continue
		}
		row := make([]any, len(insertCols))
		for i, c := range insertCols {
			row[i] = columnDefault(c)
			for _, v := range vals {
				if v.Col == c {
					row[i] = v.V
				}
			}
			if id, ok := row[i].(int64); ok && strings.HasSuffix(c, "_id") {
				if refs[c] == nil {
					refs[c] = map[int64][]int{}
				}
				refs[c][id] = append(refs[c][id], len(rows))
			}
		}
		rows = append(rows, row)
		lines = append(lines, line)
	}
	// References are checked in bulk, then reported per line.
	bad := map[int]bool{}
	for col, byID := range refs {
		kind := map[string]store.Kind{"company_id": store.Companies, "owner_id": store.Owners}[col]
		ids := make([]int64, 0, len(byID))
		for id := range byID {
			ids = append(ids, id)
		}
		exists, err := st.ExistingIDs(ctx, kind, ids)
		if err != nil {
			return rep, err
		}
		for id, idxs := range byID {
			if exists[id] {
				continue
			}
			for _, i := range idxs {
				bad[i] = true
				rep.Errors = append(rep.Errors, RowError{Line: lines[i], Message: fmt.Sprintf("%s %d not found", kind.Singular(), id)})
			}
		}
	}
	slices.SortStableFunc(rep.Errors, func(a, b RowError) int { return a.Line - b.Line })
	if len(rep.Errors) > 0 && !opts.SkipErrors {
		return rep, ErrImportRejected
	}
	good := rows[:0]
	for i, row := range rows {
		if !bad[i] {
			good = append(good, row)
		}
	}
	if len(good) == 0 {
		return rep, nil
	}
	if _, err := st.BulkInsert(ctx, kind, insertCols, good); err != nil {
		return rep, fmt.Errorf("importing %s: %w", kind, err)
	}
	rep.Imported = len(good)
	return rep, nil
}

// insertColumns are the store columns an import writes.
func insertColumns(kind store.Kind) []string {
	switch kind {
	case store.Companies:
		return []string{"name", "domain", "industry", "owner_id", "properties"}
	case store.Contacts:
		return []string{"first_name", "last_name", "email", "phone", "title", "company_id", "owner_id", "properties"}
	}
	return []string{"name", "pipeline", "stage", "status", "amount_minor", "currency", "close_date", "company_id", "owner_id", "closed_at", "properties"}
}

func columnDefault(col string) any {
	switch {
	case strings.HasSuffix(col, "_id"), col == "closed_at":
		return nil
	case col == "close_date":
		return store.Date("")
	case col == "amount_minor":
		return int64(0)
	case col == "properties":
		return map[string]any{}
	}
	return ""
}

// csvHeader maps header cells to column names, rejecting unknown ones.
func (s *Service) csvHeader(kind store.Kind, base, header []string) ([]string, error) {
	known := slices.Concat(base, csvReadOnly)
	for _, d := range s.cfg.CustomProperties.For(kind) {
		known = append(known, d.Name)
	}
	cols := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(known, h) {
			return nil, fmt.Errorf("unknown column %s for %s; known columns: %s", core.Quote(h), kind, strings.Join(known, ", "))
		}
		if seen[h] {
			return nil, fmt.Errorf("column %s appears twice", core.Quote(h))
		}
		seen[h] = true
		cols[i] = h
	}
	return cols, nil
}

// csvRow validates one row exactly as the create tools validate their input.
func (s *Service) csvRow(ctx context.Context, kind store.Kind, cols, rec []string) ([]store.Value, error) {
	cell := map[string]*string{}
	props := map[string]any{}
	var errs []error
	isProp := func(c string) bool { return !slices.Contains(csvColumns[kind], c) && !slices.Contains(csvReadOnly, c) }
	for i, c := range cols {
		v := strings.TrimSpace(rec[i])
		if v == "" {
			continue
		}
		if isProp(c) {
			props[c] = v
			continue
		}
		cell[c] = &v
	}
	ref := func(col string) *int64 {
		v := cell[col]
		if v == nil {
			return nil
		}
		id, err := strconv.ParseInt(*v, 10, 64)
		if err != nil || id <= 0 {
			errs = append(errs, fmt.Errorf("%s %s is not an id", col, core.Quote(*v)))
			return nil
		}
		return &id
	}
	switch kind {
	case store.Companies:
		in := CompanyFields{Name: cell["name"], Domain: cell["domain"], Industry: cell["industry"], OwnerID: ref("owner_id"), Properties: props}
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		return s.companyValues(ctx, in, 0, 0)
	case store.Contacts:
		in := ContactFields{FirstName: cell["first_name"], LastName: cell["last_name"], Email: cell["email"], Phone: cell["phone"],
			Title: cell["title"], CompanyID: ref("company_id"), OwnerID: ref("owner_id"), Properties: props}
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		return s.contactValues(ctx, in, 0, 0)
	}
	in := CreateDealIn{DealFields: DealFields{Name: cell["name"], Currency: cell["currency"], CloseDate: cell["close_date"],
		CompanyID: ref("company_id"), OwnerID: ref("owner_id"), Properties: props}}
	if v := cell["amount"]; v != nil {
		a, err := strconv.ParseFloat(*v, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("amount %s is not a number", core.Quote(*v)))
		}
		in.Amount = &a
	}
	if v := cell["pipeline"]; v != nil {
		in.Pipeline = *v
	}
	if v := cell["stage"]; v != nil {
		in.Stage = *v
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	w, err := s.newDeal(ctx, in)
	return w.Set, err
}

// Export writes every record of kind as CSV, in id order.
func (s *Service) Export(ctx context.Context, kind store.Kind, w io.Writer) (int, error) {
	base, ok := csvColumns[kind]
	if !ok {
		return 0, fmt.Errorf("cannot export %s: use companies, contacts or deals", core.Quote(string(kind)))
	}
	st, err := s.store()
	if err != nil {
		return 0, err
	}
	defs := s.cfg.CustomProperties.For(kind)
	header := slices.Concat([]string{"id", "version", "created_at", "updated_at"}, base)
	for _, d := range defs {
		header = append(header, d.Name)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return 0, err
	}
	n := 0
	write := func(m store.Meta, fields []string, props map[string]any) error {
		row := slices.Concat([]string{strconv.FormatInt(m.ID, 10), strconv.FormatInt(m.Version, 10),
			m.CreatedAt.Format(time.RFC3339), m.UpdatedAt.Format(time.RFC3339)}, fields)
		for _, d := range defs {
			row = append(row, propString(props[d.Name]))
		}
		n++
		return cw.Write(safeCells(row))
	}
	switch kind {
	case store.Companies:
		err = st.EachCompany(ctx, func(c store.Company) error {
			return write(c.Meta, []string{c.Name, c.Domain, c.Industry, idString(c.OwnerID)}, c.Properties)
		})
	case store.Contacts:
		err = st.EachContact(ctx, func(c store.Contact) error {
			return write(c.Meta, []string{c.FirstName, c.LastName, c.Email, c.Phone, c.Title, idString(c.CompanyID), idString(c.OwnerID)}, c.Properties)
		})
	case store.Deals:
		err = st.EachDeal(ctx, func(d store.Deal) error {
			exp, _ := currencyExponent(d.Currency)
			return write(d.Meta, []string{d.Name, d.Pipeline, d.Stage, d.Status, strconv.FormatFloat(fromMinor(d.AmountMinor, d.Currency), 'f', exp, 64),
				d.Currency, string(d.CloseDate), idString(d.CompanyID), idString(d.OwnerID)}, d.Properties)
		})
	}
	if err != nil {
		return n, err
	}
	cw.Flush()
	return n, cw.Error()
}

// safeCells defuses spreadsheet formula injection: a cell starting with
// = + - @ is prefixed with a quote so that opening the export in a
// spreadsheet never runs it. Numbers (a negative amount cannot occur, but
// phone numbers start with +) are left as they are.
func safeCells(row []string) []string {
	for i, c := range row {
		if c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
			if _, err := strconv.ParseFloat(strings.NewReplacer(" ", "", "(", "", ")", "", "-", "").Replace(c), 64); err == nil {
				continue
			}
			row[i] = "'" + c
		}
	}
	return row
}

func idString(id *int64) string {
	if id == nil {
		return ""
	}
	return strconv.FormatInt(*id, 10)
}

func propString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}
