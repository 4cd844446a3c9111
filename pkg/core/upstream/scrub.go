package upstream

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Credentials an upstream client holds never come back to a tool in text.
// An upstream that echoes the Authorization header in an error body, a
// debug endpoint, a misconfigured proxy: whatever the upstream says, the
// client removes every credential it knows from response bodies before
// any SDK or tool reads them, whatever the MCP caller's clearance. It
// knows the credentials it sent (learned from each outgoing request, so
// rotating tokens such as GitHub App installation tokens are covered) and
// the ones a server registers with [Client.AddSecrets] (other
// connections' tokens, private keys). Errors that quote upstream text go
// through [Client.Scrub] as well.

// Redacted replaces a credential in upstream text.
const Redacted = "[credential removed]"

// minSecretLen keeps short header values ("1", "true") from being taken
// for credentials and scrubbed out of ordinary text.
const minSecretLen = 8

// maxLearned bounds the credentials learned from requests; the oldest is
// forgotten first. Registered secrets are never forgotten.
const maxLearned = 64

// credentialHeaders are the request headers whose values are credentials.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "X-Api-Key", "Private-Token",
	"X-Auth-Token", "X-Amz-Security-Token", "Cookie"}

// Secrets is the set of credentials a client removes from upstream text.
// It is safe for concurrent use; [Client.Secrets] returns a client's.
type Secrets struct {
	mu       sync.Mutex
	fixed    []string
	learned  []string
	replacer atomic.Pointer[scrubber]
}

type scrubber struct {
	r      *strings.Replacer
	list   []string
	maxLen int
}

// NewSecrets returns a set holding values.
func NewSecrets(values ...string) *Secrets {
	s := &Secrets{}
	s.Add(values...)
	return s
}

// Add registers credentials that are never forgotten. Values shorter than
// 8 bytes are ignored.
func (s *Secrets) Add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, v := range expand(values) {
		if !slices.Contains(s.fixed, v) {
			s.fixed = append(s.fixed, v)
			changed = true
		}
	}
	if changed {
		s.rebuild()
	}
}

// learn records the credentials an outgoing request carries.
func (s *Secrets) learn(req *http.Request) {
	var found []string
	for _, h := range credentialHeaders {
		for _, v := range req.Header.Values(h) {
			found = append(found, headerSecrets(v)...)
		}
	}
	if u := req.URL; u != nil && u.User != nil {
		pw, _ := u.User.Password()
		found = append(found, u.User.Username(), pw)
	}
	found = expand(found)
	if len(found) == 0 {
		return
	}
	if cur := s.replacer.Load(); cur != nil {
		known := true
		for _, f := range found {
			known = known && slices.Contains(cur.list, f)
		}
		if known {
			return // the common case: the same token as before, no lock
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, f := range found {
		if slices.Contains(s.fixed, f) || slices.Contains(s.learned, f) {
			continue
		}
		s.learned = append(s.learned, f)
		if len(s.learned) > maxLearned {
			s.learned = s.learned[1:]
		}
		changed = true
	}
	if changed {
		s.rebuild()
	}
}

// headerSecrets are the credential parts of a header value: the whole
// value, the part after an auth scheme, and the user and password inside
// Basic credentials.
func headerSecrets(v string) []string {
	v = strings.TrimSpace(v)
	out := []string{v}
	scheme, rest, ok := strings.Cut(v, " ")
	if !ok {
		return out
	}
	rest = strings.TrimSpace(rest)
	out = append(out, rest)
	if strings.EqualFold(scheme, "Basic") {
		if raw, err := base64.StdEncoding.DecodeString(rest); err == nil {
			user, pass, _ := strings.Cut(string(raw), ":")
			out = append(out, user, pass)
		}
	}
	return out
}

// expand drops short values and duplicates.
func expand(values []string) []string {
	var out []string
	for _, v := range values {
		if len(v) >= minSecretLen && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// rebuild makes a new replacer; called with mu held. Longer secrets come
// first so that a credential containing another is removed whole.
func (s *Secrets) rebuild() {
	list := append(slices.Clone(s.fixed), s.learned...)
	slices.SortFunc(list, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(list))
	maxLen := 0
	for _, v := range list {
		pairs = append(pairs, v, Redacted)
		maxLen = max(maxLen, len(v))
	}
	s.replacer.Store(&scrubber{r: strings.NewReplacer(pairs...), list: list, maxLen: maxLen})
}

// Scrub returns text with every known credential replaced by [Redacted].
func (s *Secrets) Scrub(text string) string {
	if s == nil {
		return text
	}
	sc := s.replacer.Load()
	if sc == nil {
		return text
	}
	return sc.r.Replace(text)
}

// ScrubError returns err unchanged when its message holds no credential,
// and otherwise an error with the scrubbed message that still matches
// err with errors.Is and errors.As.
func (s *Secrets) ScrubError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := s.Scrub(msg)
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// Secrets returns the credentials the client removes from upstream text.
// Servers add the credentials they hold beyond the ones the client sees
// on requests (other connections' tokens, private keys).
func (c *Client) Secrets() *Secrets { return c.transport.secrets }

// AddSecrets registers credentials to remove from upstream text.
func (c *Client) AddSecrets(values ...string) { c.transport.secrets.Add(values...) }

// Scrub removes every credential the client knows from text; use it on
// any upstream text a tool passes on that did not come from a response
// body (error strings, headers).
func (c *Client) Scrub(text string) string { return c.transport.secrets.Scrub(text) }

// ScrubError is Scrub for an error; see [Secrets.ScrubError].
func (c *Client) ScrubError(err error) error { return c.transport.secrets.ScrubError(err) }

// scrubResponse wraps a response body so that credentials are removed as
// it is read, also across read boundaries. The length may change, so it is
// no longer announced. A HEAD answer has no body, and its Content-Length
// is the size of the entity (S3 object metadata reads it), so it is left
// alone.
func (s *Secrets) scrubResponse(resp *http.Response) {
	if resp.Body == nil || resp.Body == http.NoBody || s.replacer.Load() == nil {
		return
	}
	if resp.Request != nil && resp.Request.Method == http.MethodHead {
		return
	}
	resp.Body = &scrubReader{src: resp.Body, s: s}
	resp.ContentLength = -1
	resp.Header.Del("Content-Length")
}

type scrubReader struct {
	src     io.ReadCloser
	s       *Secrets
	pending []byte // read, not yet scrubbed (may hold the start of a secret)
	out     []byte // scrubbed, not yet returned
	err     error
}

func (r *scrubReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		var buf [32 << 10]byte
		n, err := r.src.Read(buf[:])
		r.pending = append(r.pending, buf[:n]...)
		if err != nil {
			r.err = err
			if !errors.Is(err, io.EOF) {
				r.pending = nil
				return 0, err
			}
		}
		r.flush(err != nil)
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// flush scrubs the part of pending that no secret can straddle: all of it
// at the end, otherwise all but the last maxLen-1 bytes, moved past any
// secret that starts before that point.
func (r *scrubReader) flush(final bool) {
	sc := r.s.replacer.Load()
	cut := len(r.pending)
	if !final {
		cut = max(0, len(r.pending)-(sc.maxLen-1))
		for moved := true; moved; {
			moved = false
			for _, v := range sc.list {
				start := max(0, cut-len(v)+1)
				if i := strings.Index(string(r.pending[start:]), v); i >= 0 && start+i < cut && start+i+len(v) > cut {
					cut, moved = start+i+len(v), true
				}
			}
		}
	}
	if cut == 0 {
		return
	}
	r.out = append(r.out[:0], sc.r.Replace(string(r.pending[:cut]))...)
	r.pending = append(r.pending[:0], r.pending[cut:]...)
}

func (r *scrubReader) Close() error { return r.src.Close() }
