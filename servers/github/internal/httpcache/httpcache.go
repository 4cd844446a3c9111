// Package httpcache is an http.RoundTripper that keeps GET answers in
// core's cache and revalidates them with conditional requests.
//
// GitHub answers a conditional request (If-None-Match with the ETag it
// sent, or If-Modified-Since) with 304 Not Modified when nothing changed,
// and a 304 does not count against the rate-limit quota. The transport
// sends the validator of a cached answer, and turns a 304 back into the
// cached 200 so that SDKs above it see an ordinary response. Answers
// younger than a short TTL are served without asking at all; a write
// through the same transport makes earlier answers in its scope (a
// repository) revalidate, so a model reads its own writes.
package httpcache

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"

	"github.com/mcpfleet/mcpfleet/pkg/core/cache"
)

// Options configure a Transport.
type Options struct {
	// Cache holds the answers; errors are treated as misses.
	Cache cache.Cache
	// Namespace starts every key. It must identify everything an answer
	// depends on besides the URL and Accept header: the connection and its
	// credential, so that one account never sees another's answers.
	Namespace string
	// TTL serves an answer without revalidation while it is younger; 0
	// always revalidates.
	TTL time.Duration
	// Keep is how long an answer is kept for revalidation.
	Keep time.Duration
	// MaxEntryBytes bounds the body of a cached answer.
	MaxEntryBytes int64
	// Revalidate reports requests that must never be served from the cache
	// without asking, whatever the TTL (lists that change without a write
	// through this server, such as notifications).
	Revalidate func(*http.Request) bool
	// Scope names the part of the upstream a request reads or writes (a
	// repository); "" is everything. A write makes earlier answers of its
	// scope, and of every scope when its own is "", revalidate.
	Scope func(*http.Request) string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Meters receives the mcpfleet.httpcache.results counter; nil means none.
	Meters metric.MeterProvider
	// Name tells transports apart in metrics (the connection).
	Name string
}

// Header set on answers served from the cache without asking upstream.
// go-github skips its rate-limit bookkeeping for answers that carry it.
const FromCacheHeader = "X-From-Cache"

// Transport is the caching RoundTripper. Build it with [New].
type Transport struct {
	next    http.RoundTripper
	o       Options
	results metric.Int64Counter
	attrs   map[string]metric.MeasurementOption

	mu          sync.Mutex
	writes      map[string]int64 // scope -> last write (unix nanoseconds)
	globalWrite int64
}

// Results counted by the mcpfleet.httpcache.results metric.
const (
	ResultFresh       = "fresh"       // served from the cache, no request
	ResultRevalidated = "revalidated" // 304: served from the cache, no quota used
	ResultMiss        = "miss"        // fetched (and stored when cacheable)
	ResultBypass      = "bypass"      // not a cacheable request
)

// maxScopes bounds the write bookkeeping; past it every scope is reset
// to a global write, which only costs revalidations.
const maxScopes = 10_000

// New returns a Transport sending requests through next.
func New(next http.RoundTripper, o Options) (*Transport, error) {
	if next == nil || o.Cache == nil {
		return nil, errors.New("httpcache: next transport and cache are required")
	}
	if o.Keep < o.TTL {
		o.Keep = o.TTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Meters == nil {
		o.Meters = metricnoop.NewMeterProvider()
	}
	t := &Transport{next: next, o: o, writes: map[string]int64{}, attrs: map[string]metric.MeasurementOption{}}
	var err error
	t.results, err = o.Meters.Meter("github.com/mcpfleet/mcpfleet/servers/github/internal/httpcache").Int64Counter(
		"mcpfleet.httpcache.results", metric.WithDescription("Upstream GET requests by cache result: fresh, revalidated (304), miss, bypass."),
		metric.WithUnit("{request}"))
	if err != nil {
		return nil, err
	}
	for _, r := range []string{ResultFresh, ResultRevalidated, ResultMiss, ResultBypass} {
		t.attrs[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("httpcache.name", o.Name), attribute.String("httpcache.result", r)))
	}
	return t, nil
}

func (t *Transport) count(ctx context.Context, result string) { t.results.Add(ctx, 1, t.attrs[result]) }

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if req.Method != http.MethodGet {
		resp, err := t.next.RoundTrip(req)
		if req.Method != http.MethodHead && req.Method != http.MethodOptions {
			// Even a failed write may have happened.
			t.noteWrite(t.scope(req))
		}
		return resp, err
	}
	if req.Header.Get("If-None-Match") != "" || req.Header.Get("If-Modified-Since") != "" || req.Header.Get("Range") != "" {
		t.count(ctx, ResultBypass)
		return t.next.RoundTrip(req)
	}
	key := t.key(req)
	sent := t.o.Now()
	cached, hit := t.load(ctx, key)
	if hit && t.fresh(req, cached, sent) {
		t.count(ctx, ResultFresh)
		resp := cached.response(req)
		resp.Header.Set(FromCacheHeader, "1")
		return resp, nil
	}
	out := req
	if hit && (cached.header.Get("Etag") != "" || cached.header.Get("Last-Modified") != "") {
		out = req.Clone(ctx)
		if etag := cached.header.Get("Etag"); etag != "" {
			out.Header.Set("If-None-Match", etag)
		} else {
			out.Header.Set("If-Modified-Since", cached.header.Get("Last-Modified"))
		}
	}
	resp, err := t.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNotModified && out != req {
		drain(resp)
		t.count(ctx, ResultRevalidated)
		if t.o.TTL > 0 {
			// The answer is fresh again. Without a TTL freshness is never
			// used, and rewriting the entry would only cost a copy.
			cached.stored = sent.UnixNano()
			t.store(ctx, key, cached)
		}
		served := cached.response(req)
		// The 304 carries the current quota (unchanged: a 304 is free).
		for k, v := range resp.Header {
			if strings.HasPrefix(k, "X-Ratelimit-") || k == "X-Github-Request-Id" || k == "Date" {
				served.Header[k] = v
			}
		}
		return served, nil
	}
	t.count(ctx, ResultMiss)
	if resp.StatusCode != http.StatusOK || !t.cacheable(resp) {
		return resp, nil
	}
	return t.keep(ctx, key, sent, resp)
}

// fresh reports whether a cached answer may be served without asking.
func (t *Transport) fresh(req *http.Request, e *entry, now time.Time) bool {
	if t.o.TTL <= 0 || now.UnixNano()-e.stored >= int64(t.o.TTL) {
		return false
	}
	if t.o.Revalidate != nil && t.o.Revalidate(req) {
		return false
	}
	scope := t.scope(req)
	t.mu.Lock()
	defer t.mu.Unlock()
	return e.stored > t.globalWrite && e.stored > t.writes[scope]
}

func (t *Transport) cacheable(resp *http.Response) bool {
	cc := strings.ToLower(resp.Header.Get("Cache-Control"))
	if strings.Contains(cc, "no-store") {
		return false
	}
	hasValidator := resp.Header.Get("Etag") != "" || resp.Header.Get("Last-Modified") != ""
	return hasValidator || t.o.TTL > 0
}

// keep reads the body (when small enough), stores the answer and returns
// a response over the bytes read.
func (t *Transport) keep(ctx context.Context, key string, sent time.Time, resp *http.Response) (*http.Response, error) {
	if resp.ContentLength > t.o.MaxEntryBytes {
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, t.o.MaxEntryBytes+1))
	if err != nil {
		_ = resp.Body.Close()
		return nil, err
	}
	if int64(len(body)) > t.o.MaxEntryBytes {
		// Too big to keep: hand back what was read and the rest.
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		return resp, nil
	}
	_ = resp.Body.Close()
	e := &entry{stored: sent.UnixNano(), header: http.Header{}, body: body}
	for _, k := range keptHeaders {
		if v := resp.Header.Values(k); len(v) > 0 {
			e.header[k] = v
		}
	}
	t.store(ctx, key, e)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// keptHeaders are what an answer needs when it is served again: its
// type, its validators and its pagination links.
var keptHeaders = []string{"Content-Type", "Etag", "Last-Modified", "Link", "X-Github-Media-Type"}

func (t *Transport) key(req *http.Request) string {
	var b strings.Builder
	b.WriteString(t.o.Namespace)
	b.WriteByte('|')
	b.WriteString(req.Header.Get("Accept"))
	b.WriteByte('|')
	b.WriteString(req.Header.Get("X-Github-Api-Version"))
	b.WriteByte('|')
	b.WriteString(req.URL.String())
	return b.String()
}

func (t *Transport) scope(req *http.Request) string {
	if t.o.Scope == nil {
		return ""
	}
	return t.o.Scope(req)
}

func (t *Transport) noteWrite(scope string) {
	now := t.o.Now().UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	if scope == "" || len(t.writes) >= maxScopes {
		t.globalWrite = now
		clear(t.writes)
		return
	}
	t.writes[scope] = now
}

func (t *Transport) load(ctx context.Context, key string) (*entry, bool) {
	raw, ok, err := t.o.Cache.Get(ctx, key)
	if err != nil || !ok {
		return nil, false
	}
	e, err := decode(raw)
	if err != nil {
		return nil, false
	}
	return e, true
}

func (t *Transport) store(ctx context.Context, key string, e *entry) {
	// A cache error only costs a later miss.
	_ = t.o.Cache.Set(ctx, key, e.encode(), t.o.Keep)
}

// entry is a cached 200 answer.
type entry struct {
	stored int64 // when the request that fetched or revalidated it was sent
	header http.Header
	body   []byte
}

func (e *entry) response(req *http.Request) *http.Response {
	h := make(http.Header, len(e.header)+1)
	for k, v := range e.header {
		h[k] = v
	}
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(e.body)),
		ContentLength: int64(len(e.body)),
		Request:       req,
	}
}

const entryVersion = 1

// encode lays an entry out as: version, stored (8 bytes), header count,
// then length-prefixed names and values, then the body.
func (e *entry) encode() []byte {
	n := 1 + 8 + binary.MaxVarintLen64 + len(e.body)
	for k, vs := range e.header {
		for _, v := range vs {
			n += 2*binary.MaxVarintLen64 + len(k) + len(v)
		}
	}
	b := make([]byte, 0, n)
	b = append(b, entryVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(e.stored))
	count := 0
	for _, vs := range e.header {
		count += len(vs)
	}
	b = binary.AppendUvarint(b, uint64(count))
	for k, vs := range e.header {
		for _, v := range vs {
			b = binary.AppendUvarint(b, uint64(len(k)))
			b = append(b, k...)
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	return append(b, e.body...)
}

var errCorrupt = errors.New("httpcache: corrupt entry")

func decode(b []byte) (*entry, error) {
	if len(b) < 9 || b[0] != entryVersion {
		return nil, errCorrupt
	}
	e := &entry{stored: int64(binary.BigEndian.Uint64(b[1:9])), header: http.Header{}}
	b = b[9:]
	count, n := binary.Uvarint(b)
	if n <= 0 || count > 64 {
		return nil, errCorrupt
	}
	b = b[n:]
	next := func() (string, bool) {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return "", false
		}
		s := string(b[n : n+int(l)])
		b = b[n+int(l):]
		return s, true
	}
	for range count {
		k, ok1 := next()
		v, ok2 := next()
		if !ok1 || !ok2 {
			return nil, errCorrupt
		}
		e.header[k] = append(e.header[k], v)
	}
	e.body = b
	return e, nil
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
