package core

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// plainResponse writes the response to a call with a numeric id whose
// result is what nearly every tool returns (one plain text block, its
// structured content, maybe isError) byte for byte as go-sdk's encoders
// would, without their reflection: go-sdk marshals the result with
// json.Marshal (HTML-escaped) and the envelope with an encoder that does
// not escape again. It returns nil for any other shape, which
// encodeResponse then encodes the general way; TestPlainResponseBytes holds
// the two to the same bytes. serverMeta is the `"_meta":{...}` member of a
// sessionless result (nil on a session).
func plainResponse(id jsonrpc.ID, res *mcp.CallToolResult, serverMeta []byte) []byte {
	n, isInt := id.Raw().(int64)
	if !isInt || res == nil || res.Meta != nil || len(res.Content) != 1 || res.InputRequests != nil || res.RequestState != "" {
		return nil
	}
	tc, ok := res.Content[0].(*mcp.TextContent)
	if !ok || tc.Meta != nil || tc.Annotations != nil {
		return nil
	}
	var sc json.RawMessage
	switch v := res.StructuredContent.(type) {
	case nil:
	case json.RawMessage:
		if v == nil {
			return nil
		}
		sc = v
	default:
		return nil
	}
	text, err := json.Marshal(tc.Text)
	if err != nil {
		return nil
	}
	b := bytes.NewBuffer(make([]byte, 0, 96+len(text)+len(sc)+len(serverMeta)))
	b.WriteString(`{"jsonrpc":"2.0","id":`)
	b.Write(strconv.AppendInt(b.AvailableBuffer(), n, 10))
	b.WriteString(`,"result":{`)
	if serverMeta != nil {
		b.Write(serverMeta)
		b.WriteByte(',')
	}
	b.WriteString(`"content":[{"type":"text","text":`)
	b.Write(text)
	b.WriteString(`}]`)
	if sc != nil {
		b.WriteString(`,"structuredContent":`)
		var compact bytes.Buffer
		if json.Compact(&compact, sc) != nil {
			return nil
		}
		json.HTMLEscape(b, compact.Bytes())
	}
	if res.IsError {
		b.WriteString(`,"isError":true`)
	}
	if serverMeta != nil {
		b.WriteString(`,"resultType":"complete"`)
	}
	b.WriteString(`}}`)
	return b.Bytes()
}

// serverMetaMember is the `"_meta"` member go-sdk adds to every result of
// the sessionless revision: the server's identity.
func serverMetaMember(impl *mcp.Implementation) []byte {
	data, err := json.Marshal(mcp.Meta{mcp.MetaKeyServerInfo: impl})
	if err != nil {
		return nil
	}
	return append([]byte(`"_meta":`), data...)
}
