package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/servers/crm/internal/testdb"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

const roundTripProperties = `crm:
  custom_properties:
    companies:
      - {name: region, type: enum, values: [emea, amer]}
    contacts:
      - {name: score, type: number}
      - {name: vip, type: bool}
    deals:
      - {name: source, type: string}
      - {name: signed_on, type: date}
`

// crmDB is the config of one fresh database on driver.
func crmDB(t *testing.T, driver string) func(string) (string, bool) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crm.yaml")
	if err := os.WriteFile(path, []byte(roundTripProperties), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"MCPFLEET_CONFIG": path, "MCPFLEET_CRM_DATA_DIR": t.TempDir()}
	if driver == store.Postgres {
		vars["MCPFLEET_CRM_DRIVER"] = store.Postgres
		vars["MCPFLEET_CRM_DSN"] = testdb.PostgresDSN(t)
	}
	return env(vars)
}

// TestExportImportRoundTrip: every object type (owners, companies,
// contacts, deals, deal-contact links, activities, custom property values)
// goes through "mcp-crm export --type all" and "import --type all" into a
// fresh database with every row and every field, on SQLite and PostgreSQL.
func TestExportImportRoundTrip(t *testing.T) {
	for _, driver := range testdb.Drivers {
		t.Run(driver, func(t *testing.T) {
			run := func(lookup func(string) (string, bool), name, stdin string, args ...string) (string, string) {
				t.Helper()
				var out, errOut bytes.Buffer
				if code := runCommand(t.Context(), name, args, strings.NewReader(stdin), &out, &errOut, lookup); code != 0 {
					t.Fatalf("mcp-crm %s %v: exit %d\n%s%s", name, args, code, out.String(), errOut.String())
				}
				return out.String(), errOut.String()
			}
			src := crmDB(t, driver)
			run(src, "demo", "")
			// Records with custom property values of every type, beside the demo data.
			run(src, "import", "name,domain,region,owner_id\nPropCo,propco.example,emea,1\n", "--type", "companies", "-")
			run(src, "import", "first_name,email,score,vip,company_id\nPia,pia@propco.example,4.5,true,1\n", "--type", "contacts", "-")
			run(src, "import", "name,amount,currency,source,signed_on,company_id\nProp deal,1200.50,EUR,referral,2026-01-31,1\n", "--type", "deals", "-")

			dir := t.TempDir()
			first := filepath.Join(dir, "crm.jsonl")
			_, summary := run(src, "export", "", "--type", "all", first)
			m := regexp.MustCompile(`exported (\d+) owners, (\d+) companies, (\d+) contacts, (\d+) deals, (\d+) deal_contacts, (\d+) activities`).FindStringSubmatch(summary)
			if m == nil {
				t.Fatalf("export summary: %q", summary)
			}
			for i, n := range m[1:] {
				if n == "0" {
					t.Errorf("the export holds no rows of type %d: %s", i, summary)
				}
			}
			data, _ := os.ReadFile(first)
			for _, want := range []string{`"region":"emea"`, `"score":4.5`, `"vip":true`, `"signed_on":"2026-01-31"`, `"deal_contact":`} {
				if !bytes.Contains(data, []byte(want)) {
					t.Errorf("export lacks %s", want)
				}
			}

			dst := crmDB(t, driver)
			// A broken file imports nothing: the good lines before the bad
			// one are rolled back, so the full import below still works.
			lines := bytes.SplitN(data, []byte("\n"), 4)
			broken := string(bytes.Join(lines[:3], []byte("\n"))) + "\n{\"owner\": 7}\n"
			var bout, berr bytes.Buffer
			if code := runCommand(t.Context(), "import", []string{"--type", "all", "-"}, strings.NewReader(broken), &bout, &berr, dst); code != 1 ||
				!strings.Contains(berr.String(), "line 4") || !strings.Contains(berr.String(), "nothing was imported") {
				t.Errorf("broken file: exit %d: %s", code, berr.String())
			}
			out, _ := run(dst, "import", "", "--type", "all", first)
			if !strings.Contains(out, strings.TrimPrefix(m[0], "exported ")) {
				t.Errorf("import restored %q, the export held %q", out, m[0])
			}
			second := filepath.Join(dir, "again.jsonl")
			run(dst, "export", "", "--type", "all", second)
			again, _ := os.ReadFile(second)
			if !bytes.Equal(data, again) {
				t.Errorf("the re-export differs from the export (%d vs %d bytes); first difference at line %d", len(data), len(again), firstDiff(data, again))
			}

			// A restore keeps ids, so it goes only into a fresh database.
			var stdout, stderr bytes.Buffer
			if code := runCommand(t.Context(), "import", []string{"--type", "all", first}, strings.NewReader(""), &stdout, &stderr, dst); code != 1 ||
				!strings.Contains(stderr.String(), "not empty") {
				t.Errorf("second restore: exit %d: %s", code, stderr.String())
			}
			// New records after a restore get fresh ids.
			run(dst, "import", "name\nAfter Restore\n", "--type", "companies", "-")
			csv, _ := run(dst, "export", "", "--type", "companies")
			if !strings.Contains(csv, "After Restore") {
				t.Errorf("no new company after the restore:\n%s", csv)
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}
