package observability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/mcpfleet/mcpfleet/pkg/observability"
)

func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	inner := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})
	logger := slog.New(observability.NewLogHandler(inner)).With("server", "crm")

	traceID, _ := trace.TraceIDFromHex(callerTraceID)
	spanID, _ := trace.SpanIDFromHex(callerSpanID)
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID}))

	logger.InfoContext(ctx, "with span", "n", 1)
	logger.Info("without span")
	logger.DebugContext(ctx, "below the level")

	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("want 2 lines (debug filtered by the inner handler's level), got %d:\n%s", len(lines), buf.String())
	}
	var with, without map[string]any
	if err := json.Unmarshal(lines[0], &with); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(lines[1], &without); err != nil {
		t.Fatal(err)
	}
	if with["trace_id"] != callerTraceID || with["span_id"] != callerSpanID || with["server"] != "crm" || with["n"] != float64(1) {
		t.Errorf("record with span = %v", with)
	}
	if _, ok := without["trace_id"]; ok {
		t.Errorf("record without span has a trace id: %v", without)
	}

	// Wrapping twice does not add the ids twice.
	if h := observability.NewLogHandler(observability.NewLogHandler(inner)); h != observability.NewLogHandler(h) {
		t.Error("NewLogHandler wrapped an already wrapped handler")
	}
}

func TestDecorateLoggerKeepsFormat(t *testing.T) {
	var buf bytes.Buffer
	logger := observability.DecorateLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	traceID, _ := trace.TraceIDFromHex(callerTraceID)
	spanID, _ := trace.SpanIDFromHex(callerSpanID)
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID}))
	logger.InfoContext(ctx, "text line")
	if got, want := buf.String(), "trace_id="+callerTraceID; !bytes.Contains([]byte(got), []byte(want)) || got[0] == '{' {
		t.Errorf("text log line = %q, want text format with %s", got, want)
	}
}
