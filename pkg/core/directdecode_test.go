package core

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	segjson "github.com/segmentio/encoding/json"
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

// decodeMeta must read every _meta it reads exactly as go-sdk's decoder
// does, and read the usual ones.
func TestMetaDecoding(t *testing.T) {
	metas := []string{
		`{}`, ` { } `,
		`{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`,
		`{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{"form":{}},"sampling":{}},"io.modelcontextprotocol/clientInfo":{"name":"c","version":"1.0"}}`,
		`{"progressToken":7}`, `{"progressToken":"t"}`, `{"progressToken":null}`, `{"progressToken":1e400}`,
		`{"n":1,"f":1.5,"e":-2e-3,"big":123456789012345678901234567890,"z":-0}`,
		`{"s":"a\"b\u00e9\ud83d\ude00\n","t":true,"f":false,"nil":null}`,
		`{"a":[1,"x",{"k":"v"},[],null]}`, `{"a":{"b":{"c":{"d":{}}}}}`,
		`{"é":1,"日本":{"語":2}}`, `{"k":"\ud800"}`,
		`{"a":1,"a":2}`, `{"a":{"b":1,"b":2}}`, `{"a\u0062":1}`, `{"a":{"\n":1}}`,
		`null`, `[]`, `"x"`, `1`, `{"a":1,}`, `{"a"}`, "{\"\xff\":1}",
	}
	read := 0
	for _, m := range metas {
		if checkMetaAsGoSDK(t, []byte(m)) {
			read++
		}
	}
	if read < 13 { // every object above with distinct, unescaped UTF-8 keys
		t.Errorf("read %d of %d, want the usual ones", read, len(metas))
	}
	t.Logf("%d of %d _meta objects read without go-sdk's decoder, identically", read, len(metas))
}

// FuzzMetaDecoding: on any well-formed value, decodeMeta neither panics
// nor reads it differently from go-sdk's decoder.
func FuzzMetaDecoding(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":{"b":[1,{"c":null}]},"d":"e"}`, `{"a":1,"a":2}`, `{"\u0061":1}`, `[]`, `{"a":1e999}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		if !json.Valid(v) || tooDeep(v, maxDepth) {
			return // what ParseGuard and decodeCall let through
		}
		checkMetaAsGoSDK(t, v)
	})
}

// checkMetaAsGoSDK fails t when decodeMeta reads v and go-sdk's decoder
// reads it differently; it reports whether decodeMeta read v.
func checkMetaAsGoSDK(t *testing.T, v []byte) bool {
	t.Helper()
	got, ok := decodeMeta(v)
	if !ok {
		return false
	}
	var want map[string]any
	if _, err := segjson.Parse(v, &want, segjson.DontMatchCaseInsensitiveStructFields); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n ours:   %#v\n go-sdk: %#v (%v)", v, got, want, err)
	}
	return true
}
