package core

//lint:file-ignore SA1019 go-sdk still serves clients before 2026-07-28 the deprecated roots, sampling and logging features, and the direct path must do what go-sdk does

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	segjson "github.com/segmentio/encoding/json"
)

// metaKeyLogLevel is the _meta key of a 2026-07-28 request's log level: a
// request that names one wants log messages on go-sdk's stream.
const metaKeyLogLevel = mcp.MetaKeyLogLevel

// fulfillInputRequests asks the client of a session what a tool's
// input-required result asks, as go-sdk's multi-round-trip middleware does
// (in key order, so that the first failure reported is always the same).
func fulfillInputRequests(ctx context.Context, ss *mcp.ServerSession, requests mcp.InputRequestMap) (mcp.InputResponseMap, error) {
	responses := make(mcp.InputResponseMap, len(requests))
	for _, id := range slices.Sorted(maps.Keys(requests)) {
		var resp mcp.InputResponse
		var err error
		switch p := requests[id].(type) {
		case *mcp.ElicitParams:
			resp, err = ss.Elicit(ctx, p)
		case *mcp.CreateMessageWithToolsParams:
			resp, err = ss.CreateMessageWithTools(ctx, p)
		case *mcp.ListRootsParams:
			resp, err = ss.ListRoots(ctx, p)
		default:
			err = fmt.Errorf("unknown input request type: %T", p)
		}
		if err != nil {
			return nil, fmt.Errorf("multi-round-trip: %w", fmt.Errorf("fulfilling input request %q: %w", id, err))
		}
		responses[id] = resp
	}
	return responses, nil
}

// sessionlessInitializeParams decodes the client's capabilities and
// identity as go-sdk does for a sessionless request.
func sessionlessInitializeParams(capsRaw, infoRaw []byte) (*mcp.InitializeParams, bool) {
	var caps struct {
		mcp.ClientCapabilities
		Roots *mcp.RootCapabilities `json:"roots,omitempty"`
	}
	if !decodeAsGoSDK(capsRaw, &caps) {
		return nil, false
	}
	c := caps.ClientCapabilities
	c.RootsV2 = caps.Roots
	if c.RootsV2 != nil {
		c.Roots = *c.RootsV2
	}
	ip := &mcp.InitializeParams{ProtocolVersion: ProtocolSessionless, Capabilities: &c}
	if infoRaw != nil {
		var impl mcp.Implementation
		if !decodeAsGoSDK(infoRaw, &impl) {
			return nil, false
		}
		ip.ClientInfo = &impl
	}
	return ip, true
}

// decodeAsGoSDK decodes a JSON object as go-sdk decodes _meta values: with
// its decoder, matching field names exactly ("Elicitation" is not
// "elicitation").
func decodeAsGoSDK(data []byte, v any) bool {
	if !bytes.HasPrefix(data, []byte("{")) {
		return false
	}
	_, err := segjson.Parse(data, v, segjson.DontMatchCaseInsensitiveStructFields)
	return err == nil
}
