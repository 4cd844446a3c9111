package observability

import "go.opentelemetry.io/otel/attribute"

// Attribute keys and metric names of the OpenTelemetry semantic conventions
// for MCP (gen-ai/mcp.md, status: development). They are spelled out here
// because the Go semconv packages do not carry the MCP and GenAI keys.
const (
	keyMCPMethodName      = attribute.Key("mcp.method.name")
	keyMCPSessionID       = attribute.Key("mcp.session.id")
	keyMCPProtocolVersion = attribute.Key("mcp.protocol.version")
	keyMCPResourceURI     = attribute.Key("mcp.resource.uri")
	keyGenAIToolName      = attribute.Key("gen_ai.tool.name")
	keyGenAIPromptName    = attribute.Key("gen_ai.prompt.name")
	keyGenAIOperationName = attribute.Key("gen_ai.operation.name")
	keyErrorType          = attribute.Key("error.type")
	keyRPCStatusCode      = attribute.Key("rpc.response.status_code")
	keyNetworkTransport   = attribute.Key("network.transport")
	keyNetworkProtocol    = attribute.Key("network.protocol.name")
)

// Well-known attribute values.
const (
	operationExecuteTool = "execute_tool"
	errorTypeToolError   = "tool_error"
	errorTypeTimeout     = "timeout"
	errorTypeCancelled   = "cancelled"
	// valueOther stands in for a tool or prompt name the server does not
	// serve, so that clients cannot create metric series at will.
	valueOther = "_OTHER"
)

// Metric names.
const (
	// MetricOperationDuration is the semantic-convention histogram of MCP
	// request and notification durations, in seconds. Its count is the
	// request count; filtered on error.type it is the error count.
	MetricOperationDuration = "mcp.server.operation.duration"
	// MetricActiveRequests counts the MCP requests being handled now.
	MetricActiveRequests = "mcp.server.active_requests"
)

// durationBuckets are the bucket boundaries the MCP conventions advise.
var durationBuckets = []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300}

// MCP methods a server receives, as of go-sdk v1.8.0. Each gets its
// attribute sets precomputed; any other method still works, at the cost of
// a few allocations per request.
var serverMethods = []string{
	"completion/complete",
	"initialize",
	"logging/setLevel",
	"notifications/cancelled",
	"notifications/initialized",
	"notifications/progress",
	"notifications/roots/list_changed",
	"ping",
	"prompts/get",
	"prompts/list",
	"resources/list",
	"resources/read",
	"resources/subscribe",
	"resources/templates/list",
	"resources/unsubscribe",
	"server/discover",
	"subscriptions/listen",
	"tools/call",
	"tools/list",
}

const (
	methodCallTool     = "tools/call"
	methodGetPrompt    = "prompts/get"
	methodReadResource = "resources/read"
)
