package redact

import (
	"strings"
	"testing"
)

func TestBuiltins(t *testing.T) {
	r, err := New(nil, []Pattern{{Name: "customer_id", Regex: `CUST-[0-9]{6}`}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ in, want string }{
		{"mail ada@example.com now", "mail [REDACTED:email] now"},
		{"a.b+tag@sub.example.co.uk", "[REDACTED:email]"},
		{"call +1 415 555 0100 or +44 20 7946 0958", "call [REDACTED:phone] or [REDACTED:phone]"},
		{"office (415) 555-0100, cell 415-555-0199", "office [REDACTED:phone], cell [REDACTED:phone]"},
		{"+14155550100", "[REDACTED:phone]"},
		{"order 12345 of 2024-01-15 costs 1999", "order 12345 of 2024-01-15 costs 1999"},
		{"version +1.2", "version +1.2"},
		{"key AKIAIOSFODNN7EXAMPLE here", "key [REDACTED:aws_access_key_id] here"},
		{"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = [REDACTED:aws_secret_access_key]"},
		{`"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"`, `"SecretAccessKey": "[REDACTED:aws_secret_access_key]"`},
		{"token ghp_" + strings.Repeat("a", 36), "token [REDACTED:github_token]"},
		{"gho_" + strings.Repeat("B", 36) + " ghs_" + strings.Repeat("1", 36), "[REDACTED:github_token] [REDACTED:github_token]"},
		{"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "[REDACTED:github_token]"},
		{"xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "[REDACTED:slack_token]"},
		{"xoxp-1-2-3-abcdefghij", "[REDACTED:slack_token]"},
		{"Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl", "Bearer [REDACTED:jwt]"},
		{"customer CUST-004211 called", "customer [REDACTED:customer_id] called"},
		{"nothing to see", "nothing to see"},
	}
	for _, c := range cases {
		got, changed := r.String(c.in)
		if got != c.want || changed != (c.in != c.want) {
			t.Errorf("%q:\n got %q (changed %v)\nwant %q", c.in, got, changed, c.want)
		}
	}
}

func TestJSON(t *testing.T) {
	r, _ := New(nil, nil)
	in := `{"name":"Ada","email":"ada@example.com","n":12345678901234567890,"tags":["x","bob@example.org"],` +
		`"creds":{"secret_access_key":"abc","token":"ghp_` + strings.Repeat("z", 36) + `"},"ok":true,"nil":null}`
	out, changed, err := r.JSON([]byte(in))
	if err != nil || !changed {
		t.Fatal(err, changed)
	}
	want := `{"creds":{"secret_access_key":"[REDACTED:aws_secret_access_key]","token":"[REDACTED:github_token]"},` +
		`"email":"[REDACTED:email]","n":12345678901234567890,"name":"Ada","nil":null,"ok":true,"tags":["x","[REDACTED:email]"]}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	same := []byte(`{"a": "plain"}`)
	if out, changed, _ := r.JSON(same); changed || string(out) != string(same) {
		t.Errorf("unchanged input rewritten: %s", out)
	}
	if _, _, err := r.JSON([]byte(`{`)); err == nil {
		t.Error("invalid JSON accepted")
	}
}

func TestDisabledAndErrors(t *testing.T) {
	r, err := New([]string{Email, Phone}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := r.String("ada@example.com +1 415 555 0100"); got != "ada@example.com +1 415 555 0100" {
		t.Errorf("disabled detectors ran: %q", got)
	}
	for _, c := range []struct {
		disabled []string
		patterns []Pattern
		want     string
	}{
		{[]string{"ssn"}, nil, "unknown detector"},
		{nil, []Pattern{{Name: "", Regex: "x"}}, "name is empty"},
		{nil, []Pattern{{Name: "email", Regex: "x"}}, "already used"},
		{nil, []Pattern{{Name: "p", Regex: "("}}, "missing closing"},
		{nil, []Pattern{{Name: "p", Regex: "x?"}}, "empty string"},
	} {
		if _, err := New(c.disabled, c.patterns); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: error %v, want %q", c.disabled, c.patterns, err, c.want)
		}
	}
}

func FuzzRedactor(f *testing.F) {
	r, _ := New(nil, []Pattern{{Name: "id", Regex: `ID-[0-9]+`}})
	for _, s := range []string{"ada@example.com", "+1 415 555 0100", "AKIAIOSFODNN7EXAMPLE", "eyJa.eyJb.c", `{"a":"b@c.de"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once, _ := r.String(s)
		twice, changed := r.String(once)
		if changed && twice != once {
			// Masks must not themselves look sensitive.
			t.Errorf("redaction is not stable: %q -> %q -> %q", s, once, twice)
		}
		_, _, _ = r.JSON([]byte(s))
	})
}
