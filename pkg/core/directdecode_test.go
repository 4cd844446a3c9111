package core

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// decodePlainCall must read every request it reads exactly as go-sdk's
// decoder does (decodeCallGeneral), and read the usual ones.
func TestPlainCallDecoding(t *testing.T) {
	params := `{"name":"x","arguments":{"a":[1,{"b":"c"}]}}`
	var bodies []string
	for _, id := range []string{`1`, `0`, `-0`, `-7`, `123456789012345`, `1234567890123456`, `9007199254740993`, `1.5`, `1e3`, `01`,
		`"s"`, `""`, `"a\"b"`, `"\u0041"`, `null`, `true`, `{}`, `[]`} {
		for _, f := range []string{
			`{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":%s}`,
			`{ "params" : %[2]s , "method" : "tools/call" , "id" : %[1]s , "jsonrpc" : "2.0" }`,
			`{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":%s,"extra":1}`,
			`{"jsonrpc":"2.0","id":%s,"method":"tools\/call","params":%s}`,
			`{"jsonrpc":"2.0","id":%s,"id":2,"method":"tools/call","params":%s}`,
			`{"jsonrpc":"1.0","id":%s,"method":"tools/call","params":%s}`,
			`{"jsonrpc":"2.0","id":%s,"method":"tools/call"}`,
			`{"jsonrpc":"2.0","id":%s,"Method":"tools/call","params":%s}`,
		} {
			bodies = append(bodies, fmt.Sprintf(f, id, params))
		}
	}
	plain := 0
	for _, b := range bodies {
		got, ok := decodePlainCall([]byte(b))
		if !ok {
			continue
		}
		plain++
		want, wok := decodeCallGeneral([]byte(b))
		if !wok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n plain:  %+v\n go-sdk: %+v (%v)", b, got, want, wok)
		}
	}
	if plain < 20 {
		t.Errorf("read %d of %d requests, want the usual ones", plain, len(bodies))
	}
	t.Logf("%d of %d requests read without go-sdk's decoder, identically", plain, len(bodies))
}

// FuzzPlainCallDecoding: on any body, the byte-level readers neither panic
// nor read a request differently from go-sdk's decoder.
func FuzzPlainCallDecoding(f *testing.F) {
	for _, s := range []string{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`, `{"id":"a","jsonrpc":"2.0","method":"m"}`,
		`{"jsonrpc":"2.0","id":-0,"method":"tools/call","params":[]}`, `{`, `{"a":}`, `{"jsonrpc":"2.0","id":1,"id":2,"method":"x"}`, `[]`, `"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := decodePlainCall(body)
		_ = objectKeys(body, func(_, _ []byte) bool { return true })
		if !ok || !json.Valid(body) {
			return // only well-formed bodies get here (ParseGuard)
		}
		want, wok := decodeCallGeneral(body)
		if !wok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n plain:  %+v\n go-sdk: %+v (%v)", body, got, want, wok)
		}
	})
}
