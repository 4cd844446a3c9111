package observability

import (
	"maps"
	"net/http"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// params is what the instrumentation reads from a request's params.
type params struct {
	name string         // tool or prompt name
	uri  string         // resource URI
	meta map[string]any // params._meta
}

// readParams picks the fields the instrumentation needs with a type switch:
// no reflection, and safe for the nil params that go-sdk passes for methods
// whose params are optional (calling GetMeta on those would panic).
func readParams(p mcp.Params) params {
	switch p := p.(type) {
	case *mcp.CallToolParamsRaw:
		if p != nil {
			return params{name: p.Name, meta: p.Meta}
		}
	case *mcp.GetPromptParams:
		if p != nil {
			return params{name: p.Name, meta: p.Meta}
		}
	case *mcp.ReadResourceParams:
		if p != nil {
			return params{uri: p.URI, meta: p.Meta}
		}
	case *mcp.SubscribeParams:
		if p != nil {
			return params{uri: p.URI, meta: p.Meta}
		}
	case *mcp.UnsubscribeParams:
		if p != nil {
			return params{uri: p.URI, meta: p.Meta}
		}
	case *mcp.ListToolsParams:
		if p != nil {
			return params{meta: p.Meta}
		}
	case *mcp.ListPromptsParams:
		if p != nil {
			return params{meta: p.Meta}
		}
	case *mcp.ListResourcesParams:
		if p != nil {
			return params{meta: p.Meta}
		}
	case *mcp.ListResourceTemplatesParams:
		if p != nil {
			return params{meta: p.Meta}
		}
	case *mcp.CompleteParams:
		if p != nil {
			return params{meta: p.Meta}
		}
	case *mcp.InitializeParams:
		if p != nil {
			return params{meta: p.Meta}
		}
	case *mcp.PingParams:
		if p != nil {
			return params{meta: p.Meta}
		}
	//lint:ignore SA1019 deprecated, but clients still send it during the deprecation window.
	case *mcp.SetLoggingLevelParams:
		if p != nil {
			return params{meta: p.Meta}
		}
	case *mcp.DiscoverParams:
		if p != nil {
			return params{meta: p.Meta}
		}
	case *mcp.SubscriptionsListenParams:
		if p != nil {
			return params{meta: p.Meta}
		}
	case *mcp.CancelledParams:
		if p != nil {
			return params{meta: p.Meta}
		}
	case *mcp.InitializedParams:
		if p != nil {
			return params{meta: p.Meta}
		}
	case *mcp.ProgressNotificationParams:
		if p != nil {
			return params{meta: p.Meta}
		}
	//lint:ignore SA1019 deprecated, but clients still send it during the deprecation window.
	case *mcp.RootsListChangedParams:
		if p != nil {
			return params{meta: p.Meta}
		}
	}
	return params{}
}

// Keys of W3C trace context in params._meta. They are unprefixed, as
// SEP-414 and the MCP semantic conventions specify.
const (
	metaTraceparent = "traceparent"
	metaBaggage     = "baggage"
)

func hasTraceContext(meta map[string]any) bool {
	if meta == nil {
		return false
	}
	_, tp := meta[metaTraceparent]
	_, bg := meta[metaBaggage]
	return tp || bg
}

// metaCarrier adapts params._meta to a propagation.TextMapCarrier. Only
// string values are trace context; anything else under those keys is
// ignored.
type metaCarrier map[string]any

func (c metaCarrier) Get(key string) string {
	s, _ := c[key].(string)
	return s
}

func (c metaCarrier) Set(key, value string) { c[key] = value }

func (c metaCarrier) Keys() []string { return slices.Collect(maps.Keys(c)) }

// headerCarrier adapts HTTP headers to a propagation.TextMapCarrier like
// propagation.HeaderCarrier, but reads the W3C keys under their canonical
// names directly: http.Header.Get would canonicalize (and allocate) the
// lowercase keys the propagators ask for on every request.
type headerCarrier http.Header

func (c headerCarrier) Get(key string) string {
	var v []string
	switch key {
	case "traceparent":
		v = c["Traceparent"]
	case "tracestate":
		v = c["Tracestate"]
	case "baggage":
		v = c["Baggage"]
	default:
		return http.Header(c).Get(key)
	}
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func (c headerCarrier) Set(key, value string) { http.Header(c).Set(key, value) }

func (c headerCarrier) Keys() []string { return slices.Collect(maps.Keys(c)) }
