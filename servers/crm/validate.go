package crm

import (
	"errors"
	"fmt"
	"math"
	"net/mail"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// Length caps, in characters. They keep one record from filling a page of
// results and give hostile payloads a clear error rather than a slow write.
const (
	maxName       = 200
	maxEmail      = 254
	maxPhone      = 40
	maxSubject    = 500
	maxBody       = 20000
	maxKey        = 200
	maxProperties = 50
	maxPropString = 2000
	maxContacts   = 50
)

// checkText rejects invalid UTF-8, control characters (newlines and tabs
// too, unless multiline) and values over max characters.
func checkText(field, v string, max int, multiline bool) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s is not valid UTF-8", field)
	}
	if n := utf8.RuneCountInString(v); n > max {
		return fmt.Errorf("%s is %d characters; the limit is %d", field, n, max)
	}
	for _, r := range v {
		if (r == '\n' || r == '\t' || r == '\r') && multiline {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\ufeff' || isBidiControl(r) {
			return fmt.Errorf("%s contains a control character (U+%04X); remove it", field, r)
		}
	}
	return nil
}

// isBidiControl reports the explicit bidirectional embeddings, overrides
// and isolates, which can make stored text display differently from what it
// is ("Trojan Source").
func isBidiControl(r rune) bool {
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

// checkEmail accepts a bare address (no display name), as RFC 5322 parses it.
func checkEmail(v string) error {
	if err := checkText("email", v, maxEmail, false); err != nil {
		return err
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" {
		return fmt.Errorf("email %s is not a valid address like name@example.com", core.Quote(v))
	}
	_, domain, _ := strings.Cut(v, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return fmt.Errorf("email %s needs a domain like example.com", core.Quote(v))
	}
	return nil
}

// checkPhone accepts digits with the usual punctuation, 3 to 20 digits.
func checkPhone(v string) error {
	if err := checkText("phone", v, maxPhone, false); err != nil {
		return err
	}
	digits := 0
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(" +-().x/", r):
		default:
			return fmt.Errorf("phone %s may hold only digits, spaces and + - ( ) . x /", core.Quote(v))
		}
	}
	if digits < 3 || digits > 20 {
		return fmt.Errorf("phone %s has %d digits; expected 3 to 20", core.Quote(v), digits)
	}
	return nil
}

// checkDate parses a YYYY-MM-DD date.
func checkDate(field, v string) (store.Date, error) {
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return "", fmt.Errorf("%s %s is not a date in YYYY-MM-DD form", field, core.Quote(v))
	}
	return store.Date(v), nil
}

// checkID rejects ids that cannot exist.
func checkID(field string, v int64) error {
	if v <= 0 {
		return fmt.Errorf("%s must be a positive id, not %d", field, v)
	}
	return nil
}

// currencies are the active ISO 4217 codes and their minor-unit exponents.
var currencies = map[string]int{
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2, "AZN": 2,
	"BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2, "BOB": 2, "BRL": 2,
	"BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2, "CHF": 2, "CLP": 0, "CNY": 2,
	"COP": 2, "CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2,
	"ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2,
	"GNF": 0, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2,
	"IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3, "JPY": 0, "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0,
	"KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2,
	"LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2,
	"MVR": 2, "MWK": 2, "MXN": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2,
	"NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2,
	"RON": 2, "RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2,
	"SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2,
	"TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0,
	"USD": 2, "UYU": 2, "UZS": 2, "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2, "XOF": 0,
	"XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}

func currencyExponent(code string) (int, bool) {
	e, ok := currencies[code]
	return e, ok
}

func checkCurrency(code string) error {
	if _, ok := currencies[code]; !ok {
		return fmt.Errorf("currency %s is not an ISO 4217 code (use upper case, like USD, EUR, JPY)", core.Quote(code))
	}
	return nil
}

// maxAmount keeps minor units well inside int64 and any real deal.
const maxAmount = 1e12

// toMinor converts an amount in major units to minor units of currency,
// refusing negative, non-finite or over-precise amounts.
func toMinor(amount float64, currency string) (int64, error) {
	exp, ok := currencyExponent(currency)
	if !ok {
		return 0, checkCurrency(currency)
	}
	switch {
	case math.IsNaN(amount) || math.IsInf(amount, 0):
		return 0, errors.New("amount must be a finite number")
	case amount < 0:
		return 0, fmt.Errorf("amount %v is negative; amounts must be zero or more", amount)
	case amount > maxAmount:
		return 0, fmt.Errorf("amount %v is over the limit of %.0f", amount, float64(maxAmount))
	}
	scaled := amount * math.Pow10(exp)
	minor := math.Round(scaled)
	if math.Abs(scaled-minor) > 1e-6*math.Max(1, scaled) {
		return 0, fmt.Errorf("amount %v has more decimals than %s allows (%d)", amount, currency, exp)
	}
	return int64(minor), nil
}

// fromMinor converts minor units back to a major-unit amount.
func fromMinor(minor int64, currency string) float64 {
	exp, _ := currencyExponent(currency)
	return float64(minor) / math.Pow10(exp)
}

// checkProperties validates custom property values against their
// definitions and returns them normalised. With create set, required
// properties must be present. A nil value (JSON null) deletes a property on
// update.
func checkProperties(kind store.Kind, defs []PropertyDef, in map[string]any, create bool) (map[string]any, error) {
	if len(in) > maxProperties {
		return nil, fmt.Errorf("properties has %d entries; the limit is %d", len(in), maxProperties)
	}
	byName := map[string]PropertyDef{}
	for _, d := range defs {
		byName[d.Name] = d
	}
	var errs []error
	out := map[string]any{}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := in[k]
		d, ok := byName[k]
		if !ok {
			errs = append(errs, fmt.Errorf("unknown property %s for %s; defined properties: %s", core.Quote(k), kind, propertyNames(defs)))
			continue
		}
		if v == nil {
			if d.Required {
				errs = append(errs, fmt.Errorf("property %s is required and cannot be removed", core.Quote(k)))
			}
			out[k] = nil
			continue
		}
		nv, err := checkProperty(d, v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[k] = nv
	}
	if create {
		for _, d := range defs {
			if _, ok := in[d.Name]; d.Required && !ok {
				errs = append(errs, fmt.Errorf("property %q (%s) is required", d.Name, d.Type))
			}
		}
	}
	return out, errors.Join(errs...)
}

func checkProperty(d PropertyDef, v any) (any, error) {
	bad := func(want string) error {
		return fmt.Errorf("property %q must be %s, not %s", d.Name, want, core.Quote(fmt.Sprint(v)))
	}
	switch d.Type {
	case PropString:
		s, ok := v.(string)
		if !ok {
			return nil, bad("a string")
		}
		return untrusted.Clean(s), checkText("property "+d.Name, s, maxPropString, true)
	case PropNumber:
		f, ok := v.(float64)
		if !ok {
			// CSV import hands numbers over as text.
			s, isStr := v.(string)
			var err error
			if f, err = strconv.ParseFloat(s, 64); !isStr || err != nil {
				return nil, bad("a number")
			}
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, bad("a finite number")
		}
		return f, nil
	case PropBool:
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			if p, err := strconv.ParseBool(b); err == nil {
				return p, nil
			}
		}
		return nil, bad("true or false")
	case PropDate:
		s, ok := v.(string)
		if !ok {
			return nil, bad("a YYYY-MM-DD date")
		}
		if _, err := checkDate("property "+d.Name, s); err != nil {
			return nil, err
		}
		return s, nil
	case PropEnum:
		s, ok := v.(string)
		for _, allowed := range d.Values {
			if ok && s == allowed {
				return s, nil
			}
		}
		return nil, fmt.Errorf("property %q must be one of %s, not %v", d.Name, joinQuoted(d.Values), v)
	}
	return nil, fmt.Errorf("property %q has unknown type %q", d.Name, d.Type)
}

// mergeProperties applies an update's changes (nil deletes) to current.
func mergeProperties(current, changes map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range current {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func propertyNames(defs []PropertyDef) string {
	if len(defs) == 0 {
		return "none"
	}
	names := make([]string, len(defs))
	for i, d := range defs {
		names[i] = d.Name + " (" + d.Type + ")"
	}
	return strings.Join(names, ", ")
}

func joinQuoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
