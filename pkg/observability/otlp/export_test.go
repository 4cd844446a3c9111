package otlp

import (
	"context"
	"time"
)

// Sleeper waits between attempts of an export.
type Sleeper = func(ctx context.Context, d time.Duration) error

// SetSpanSleep and SetMetricSleep replace how an exporter waits between
// attempts, so that tests observe the delays without waiting them out.
func SetSpanSleep(e *SpanExporter, f Sleeper)     { e.client.sleep = f }
func SetMetricSleep(e *MetricExporter, f Sleeper) { e.client.sleep = f }
