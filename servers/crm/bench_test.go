package crm_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpfleet/mcpfleet/servers/crm"
	"github.com/mcpfleet/mcpfleet/servers/crm/internal/testdb"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// Benchmarks run only with -bench, e.g.
//
//	go test -run '^$' -bench . -benchtime 2000x ./servers/crm/
//
// They report latency percentiles and throughput with b.ReportMetric.

const benchContacts = 100_000

// benchNames builds a realistic spread: 300 first names x 1,000 last names,
// 2,000 company domains, so a full-name query matches a handful of rows
// and a common first name a few hundred.
type benchNames struct {
	first, last, domains []string
}

func newBenchNames() benchNames {
	rng := rand.New(rand.NewPCG(1, 2))
	syl := []string{"ka", "lo", "mi", "ra", "ne", "to", "sa", "vi", "de", "mo", "ri", "an", "el", "or", "us", "ta", "be", "li"}
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(syl[rng.IntN(len(syl))])
		}
		return b.String()
	}
	var n benchNames
	for range 300 {
		n.first = append(n.first, strings.ToUpper(word(2)[:1])+word(2)[1:])
	}
	for range 1000 {
		n.last = append(n.last, strings.ToUpper(word(3)[:1])+word(3)[1:])
	}
	for range 2000 {
		n.domains = append(n.domains, word(3)+".example")
	}
	return n
}

func (n benchNames) row(i int) []any {
	f, l, d := n.first[i%len(n.first)], n.last[(i*7)%len(n.last)], n.domains[(i*13)%len(n.domains)]
	return []any{f, l, strings.ToLower(f+"."+l) + fmt.Sprintf("%d@", i) + d, fmt.Sprintf("+1 555 %07d", i), "Engineer", nil, nil, map[string]any{}}
}

func loadContacts(b *testing.B, s *server, n benchNames) {
	b.Helper()
	rows := make([][]any, benchContacts)
	for i := range rows {
		rows[i] = n.row(i)
	}
	if _, err := s.svc.Store().BulkInsert(context.Background(), store.Contacts,
		[]string{"first_name", "last_name", "email", "phone", "title", "company_id", "owner_id", "properties"}, rows); err != nil {
		b.Fatal(err)
	}
}

func reportPercentiles(b *testing.B, d []time.Duration) {
	slices.Sort(d)
	ms := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
}

// BenchmarkSearchContacts calls search_records (full MCP tool path over an
// in-memory session: schema validation, store query, JSON encoding of 20
// results) over 100,000 contacts with a mix of queries.
func BenchmarkSearchContacts(b *testing.B) {
	for _, driver := range testdb.Drivers {
		b.Run(driver, func(b *testing.B) {
			s := startServer(b, driver, "")
			names := newBenchNames()
			loadContacts(b, s, names)
			rng := rand.New(rand.NewPCG(3, 4))
			queries := []func() string{
				func() string {
					i := rng.IntN(benchContacts)
					r := names.row(i)
					return r[0].(string) + " " + r[1].(string)
				},
				func() string { return names.last[rng.IntN(len(names.last))][:4] },
				func() string { return names.first[rng.IntN(len(names.first))] },
				func() string { return strings.TrimSuffix(names.domains[rng.IntN(len(names.domains))], ".example") },
			}
			var lat []time.Duration
			i := 0
			for b.Loop() {
				q := queries[i%len(queries)]()
				i++
				start := time.Now()
				res := s.raw(b, "search_records", obj{"type": "contacts", "query": q, "limit": 20})
				lat = append(lat, time.Since(start))
				if res.IsError {
					b.Fatalf("search %q: %s", q, text(res))
				}
			}
			reportPercentiles(b, lat)
		})
	}
}

// BenchmarkCreateContact calls create_contact sequentially (full MCP tool
// path, one transaction per call) and reports contacts per second.
func BenchmarkCreateContact(b *testing.B) {
	for _, c := range []struct{ name, driver, yaml string }{
		{"sqlite-sync-full", store.SQLite, ""},
		{"sqlite-sync-normal", store.SQLite, "  sqlite_synchronous: normal\n"},
		{"postgres", store.Postgres, ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := startServer(b, c.driver, c.yaml)
			i := 0
			start := time.Now()
			for b.Loop() {
				i++
				res := s.raw(b, "create_contact", obj{"first_name": "Bench", "last_name": fmt.Sprint(i), "email": fmt.Sprintf("b%d@bench.example", i), "idempotency_key": fmt.Sprint("k", i)})
				if res.IsError {
					b.Fatal(text(res))
				}
			}
			b.ReportMetric(float64(i)/time.Since(start).Seconds(), "contacts/s")
		})
	}
}

// BenchmarkImportCSV imports a generated CSV of 100,000 contacts into an
// empty database (validation of every row, one transaction).
func BenchmarkImportCSV(b *testing.B) {
	names := newBenchNames()
	var buf bytes.Buffer
	buf.WriteString("first_name,last_name,email,phone,title\n")
	for i := range benchContacts {
		r := names.row(i)
		fmt.Fprintf(&buf, "%s,%s,%s,%s,%s\n", r[0], r[1], r[2], r[3], r[4])
	}
	data := buf.Bytes()
	for _, driver := range testdb.Drivers {
		b.Run(driver, func(b *testing.B) {
			var total time.Duration
			n := 0
			for b.Loop() {
				b.StopTimer()
				s := startServer(b, driver, "")
				b.StartTimer()
				start := time.Now()
				rep, err := s.svc.Import(context.Background(), store.Contacts, bytes.NewReader(data), crm.ImportOptions{})
				total += time.Since(start)
				n++
				if err != nil || rep.Imported != benchContacts {
					b.Fatalf("import: %+v %v", rep.Errors[:min(3, len(rep.Errors))], err)
				}
			}
			b.ReportMetric(total.Seconds()/float64(n), "s/100k-rows")
			b.ReportMetric(float64(benchContacts*n)/total.Seconds(), "rows/s")
		})
	}
}
