package upstream

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
)

// TestResponseBodiesLoseCredentials: an upstream that echoes the
// Authorization header (a 401 body, a debug endpoint) does not get the
// token into what the client hands on, nor the other credentials the
// client knows; the rest of the body is unchanged.
func TestResponseBodiesLoseCredentials(t *testing.T) {
	const sent = "ghp_SENTtoken0123456789abcdefghijklmnop"
	const other = "ghp_OTHERconnection0123456789abcdefghij"
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int64) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"message":"Bad credentials: %s","also":"%s","documentation_url":"https://docs.example/auth"}`,
			r.Header.Get("Authorization"), other)
	})
	c := newTestClient(t, testConfig(), Deps{})
	c.AddSecrets(other)
	req := newRequest(t, t.Context(), "GET", up.URL, "")
	req.Header.Set("Authorization", "Bearer "+sent)
	status, body, err := do(t, c, req)
	if err != nil || status != 401 {
		t.Fatalf("%d %v", status, err)
	}
	if strings.Contains(body, sent) || strings.Contains(body, other) || strings.Count(body, Redacted) != 2 ||
		!strings.Contains(body, "documentation_url") {
		t.Errorf("body: %s", body)
	}
	if got := c.Scrub("token " + sent + " and " + other); got != "token Bearer "+Redacted+" and "+Redacted &&
		got != "token "+Redacted+" and "+Redacted {
		t.Errorf("Scrub: %q", got)
	}
	wrapped := fmt.Errorf("upstream said %s: %w", sent, io.ErrUnexpectedEOF)
	if e := c.ScrubError(wrapped); strings.Contains(e.Error(), sent) || !errors.Is(e, io.ErrUnexpectedEOF) {
		t.Errorf("ScrubError: %v", e)
	}
}

// TestScrubReaderAcrossReads: a credential split across reads of the
// source is still removed, whatever the read sizes.
func TestScrubReaderAcrossReads(t *testing.T) {
	const secret = "xoxb-1234567890-abcdefghijkl"
	s := NewSecrets(secret)
	text := strings.Repeat("a", 100) + secret + "middle" + secret + strings.Repeat("z", 7) + secret
	want := strings.ReplaceAll(text, secret, Redacted)
	for _, src := range []io.Reader{strings.NewReader(text), iotest.OneByteReader(strings.NewReader(text)),
		iotest.HalfReader(strings.NewReader(text)), iotest.DataErrReader(strings.NewReader(text))} {
		resp := &http.Response{Body: io.NopCloser(src), Header: http.Header{}}
		s.scrubResponse(resp)
		got, err := io.ReadAll(iotest.OneByteReader(resp.Body))
		if err != nil || string(got) != want {
			t.Errorf("got %q (%v), want %q", got, err, want)
		}
	}
}

// TestBasicCredentialsLearned: the parts of Basic credentials count too.
func TestBasicCredentialsLearned(t *testing.T) {
	s := NewSecrets()
	req, _ := http.NewRequest("GET", "http://example.invalid/", nil)
	req.SetBasicAuth("service-user", "p4ssw0rd-long-enough")
	s.learn(req)
	if got := s.Scrub("user service-user pass p4ssw0rd-long-enough"); strings.Contains(got, "p4ssw0rd") || strings.Contains(got, "service-user") {
		t.Errorf("%q", got)
	}
}
