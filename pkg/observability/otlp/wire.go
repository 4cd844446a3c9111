package otlp

import (
	"math"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	"google.golang.org/protobuf/encoding/protowire"
)

// encoder appends OTLP messages in protobuf wire format to b. It is written
// by hand with protowire instead of using the generated OTLP types: those
// pull in the protobuf registry and reflection, whose package
// initialisation alone costs a server megabytes of resident memory.
//
// Proto3 rules followed throughout: a scalar with implicit presence is left
// out when it is zero; a oneof member, an `optional` field and a message
// field are written whenever they are set, even when zero or empty.
type encoder struct {
	b []byte
}

// open starts a length-delimited (message) field and returns where its body
// starts; close writes the length. One byte is reserved for the length,
// enough for bodies under 128 bytes, and the body is shifted when the length
// needs more: nested messages are written in one pass, with no size
// precomputation to keep in step with the encoding.
func (e *encoder) open(num protowire.Number) int {
	e.b = protowire.AppendTag(e.b, num, protowire.BytesType)
	e.b = append(e.b, 0)
	return len(e.b)
}

func (e *encoder) close(start int) {
	n := len(e.b) - start
	size := protowire.SizeVarint(uint64(n))
	if size == 1 {
		e.b[start-1] = byte(n)
		return
	}
	e.b = append(e.b, make([]byte, size-1)...)
	copy(e.b[start-1+size:], e.b[start:start+n])
	protowire.AppendVarint(e.b[:start-1], uint64(n))
}

// bytesField writes a bytes field unless empty.
func (e *encoder) bytesField(num protowire.Number, v []byte) {
	if len(v) == 0 {
		return
	}
	e.b = protowire.AppendTag(e.b, num, protowire.BytesType)
	e.b = protowire.AppendBytes(e.b, v)
}

// stringField writes a string field unless empty.
func (e *encoder) stringField(num protowire.Number, v string) {
	if v == "" {
		return
	}
	e.stringAlways(num, v)
}

func (e *encoder) stringAlways(num protowire.Number, v string) {
	e.b = protowire.AppendTag(e.b, num, protowire.BytesType)
	e.b = protowire.AppendString(e.b, v)
}

// varintField writes a varint field (uint32, int64 as two's complement, an
// enum) unless zero.
func (e *encoder) varintField(num protowire.Number, v uint64) {
	if v == 0 {
		return
	}
	e.b = protowire.AppendTag(e.b, num, protowire.VarintType)
	e.b = protowire.AppendVarint(e.b, v)
}

// sint32Field writes a zigzag-encoded sint32 unless zero.
func (e *encoder) sint32Field(num protowire.Number, v int32) {
	e.varintField(num, protowire.EncodeZigZag(int64(v)))
}

func (e *encoder) boolField(num protowire.Number, v bool) {
	if v {
		e.varintField(num, 1)
	}
}

// fixed64Field writes a fixed64/sfixed64 unless zero.
func (e *encoder) fixed64Field(num protowire.Number, v uint64) {
	if v == 0 {
		return
	}
	e.fixed64Always(num, v)
}

func (e *encoder) fixed64Always(num protowire.Number, v uint64) {
	e.b = protowire.AppendTag(e.b, num, protowire.Fixed64Type)
	e.b = protowire.AppendFixed64(e.b, v)
}

func (e *encoder) fixed32Field(num protowire.Number, v uint32) {
	if v == 0 {
		return
	}
	e.b = protowire.AppendTag(e.b, num, protowire.Fixed32Type)
	e.b = protowire.AppendFixed32(e.b, v)
}

// doubleField writes a double with implicit presence (left out when zero);
// doubleAlways one with explicit presence (optional or oneof).
func (e *encoder) doubleField(num protowire.Number, v float64) {
	if v == 0 && !math.Signbit(v) {
		return
	}
	e.doubleAlways(num, v)
}

func (e *encoder) doubleAlways(num protowire.Number, v float64) {
	e.fixed64Always(num, math.Float64bits(v))
}

// timeField writes a fixed64 unix-nanosecond timestamp; times before 1970
// (including the zero time.Time) are 0, "unknown", as in the official
// exporters.
func (e *encoder) timeField(num protowire.Number, t time.Time) {
	e.fixed64Field(num, unixNano(t))
}

func unixNano(t time.Time) uint64 {
	return uint64(max(0, t.UnixNano())) //nolint:gosec // negative values clamped above
}

// clampUint32 converts a dropped-items count.
func clampUint32(v int) uint64 {
	return uint64(min(max(v, 0), math.MaxUint32)) //nolint:gosec // clamped above
}

// keyValues writes attributes as repeated KeyValue field num.
func (e *encoder) keyValues(num protowire.Number, kvs []attribute.KeyValue) {
	for _, kv := range kvs {
		e.keyValue(num, kv)
	}
}

// attributeSet writes a set's attributes as repeated KeyValue field num,
// without copying the set into a slice.
func (e *encoder) attributeSet(num protowire.Number, set *attribute.Set) {
	for it := set.Iter(); it.Next(); {
		e.keyValue(num, it.Attribute())
	}
}

// keyValue writes a KeyValue message: key = 1, value = 2.
func (e *encoder) keyValue(num protowire.Number, kv attribute.KeyValue) {
	s := e.open(num)
	e.stringField(1, string(kv.Key))
	e.anyValue(2, kv.Value)
	e.close(s)
}

// AnyValue fields (a oneof, so zero values are written too).
const (
	anyString protowire.Number = 1
	anyBool   protowire.Number = 2
	anyInt    protowire.Number = 3
	anyDouble protowire.Number = 4
	anyArray  protowire.Number = 5
	anyKVList protowire.Number = 6
	anyBytes  protowire.Number = 7
)

// anyValue writes an AnyValue message. Slices become an ArrayValue
// (values = 1), maps a KeyValueList (values = 1); an EMPTY value is an empty
// AnyValue, and a type this encoder does not know the string "INVALID", as
// the official exporters do.
func (e *encoder) anyValue(num protowire.Number, v attribute.Value) {
	s := e.open(num)
	switch v.Type() {
	case attribute.EMPTY:
	case attribute.BOOL:
		e.boolAlways(anyBool, v.AsBool())
	case attribute.INT64:
		e.int64Always(anyInt, v.AsInt64())
	case attribute.FLOAT64:
		e.doubleAlways(anyDouble, v.AsFloat64())
	case attribute.STRING:
		e.stringAlways(anyString, v.AsString())
	case attribute.BYTESLICE:
		e.b = protowire.AppendTag(e.b, anyBytes, protowire.BytesType)
		e.b = protowire.AppendBytes(e.b, v.AsByteSlice())
	case attribute.BOOLSLICE:
		arrayValue(e, v.AsBoolSlice(), func(x bool) { e.boolAlways(anyBool, x) })
	case attribute.INT64SLICE:
		arrayValue(e, v.AsInt64Slice(), func(x int64) { e.int64Always(anyInt, x) })
	case attribute.FLOAT64SLICE:
		arrayValue(e, v.AsFloat64Slice(), func(x float64) { e.doubleAlways(anyDouble, x) })
	case attribute.STRINGSLICE:
		arrayValue(e, v.AsStringSlice(), func(x string) { e.stringAlways(anyString, x) })
	case attribute.SLICE:
		a := e.open(anyArray)
		for _, x := range v.AsSlice() {
			e.anyValue(1, x)
		}
		e.close(a)
	case attribute.MAP:
		m := e.open(anyKVList)
		e.keyValues(1, v.AsMap())
		e.close(m)
	default:
		e.stringAlways(anyString, "INVALID")
	}
	e.close(s)
}

// arrayValue writes the ArrayValue field of an AnyValue: one AnyValue
// (values = 1) per element, whose content element writes.
func arrayValue[T any](e *encoder, xs []T, element func(T)) {
	a := e.open(anyArray)
	for _, x := range xs {
		el := e.open(1)
		element(x)
		e.close(el)
	}
	e.close(a)
}

func (e *encoder) boolAlways(num protowire.Number, v bool) {
	e.b = protowire.AppendTag(e.b, num, protowire.VarintType)
	e.b = protowire.AppendVarint(e.b, protowire.EncodeBool(v))
}

func (e *encoder) int64Always(num protowire.Number, v int64) {
	e.b = protowire.AppendTag(e.b, num, protowire.VarintType)
	e.b = protowire.AppendVarint(e.b, uint64(v)) //nolint:gosec // int64 is two's complement on the wire
}

// resource writes a Resource message: attributes = 1. It is written even
// without attributes, as the official exporters do.
func (e *encoder) resource(num protowire.Number, r *resource.Resource) {
	s := e.open(num)
	for it := r.Iter(); it.Next(); {
		e.keyValue(1, it.Attribute())
	}
	e.close(s)
}

// scope writes an InstrumentationScope message (name = 1, version = 2,
// attributes = 3), left out for the zero scope. Its schema URL belongs to
// the enclosing ScopeSpans/ScopeMetrics.
func (e *encoder) scope(num protowire.Number, sc *instrumentation.Scope) {
	if sc.Name == "" && sc.Version == "" && sc.Attributes.Len() == 0 {
		return
	}
	s := e.open(num)
	e.stringField(1, sc.Name)
	e.stringField(2, sc.Version)
	e.attributeSet(3, &sc.Attributes)
	e.close(s)
}
