package coretest

import (
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Text is the text content of a tool result, concatenated.
func Text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			b.WriteString(t.Text)
		}
	}
	return b.String()
}

// Field walks a dotted path through decoded JSON ("issues.0.title"); nil
// when the path does not exist.
func Field(v any, path string) any {
	for p := range strings.SplitSeq(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// Str is the string at path ("" when it is missing or not a string).
func Str(v any, path string) string {
	s, _ := Field(v, path).(string)
	return s
}

// Len is the length of the array at path (0 when it is missing or not an
// array).
func Len(v any, path string) int {
	a, _ := Field(v, path).([]any)
	return len(a)
}
