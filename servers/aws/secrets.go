package aws

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
)

// AWS signs requests: the secret access key never travels, so the
// upstream client cannot learn it from a request the way it learns a
// bearer token, and an assumed role's keys arrive in an STS answer. The
// server therefore registers every credential it holds with every
// account's client, so that no AWS answer (or proxy in front of one)
// quoting a credential, this account's or another's, hands it to a
// caller: static keys at start-up, others as the SDK retrieves them,
// before the first request signed with them is sent.
type secretSink struct {
	mu      sync.Mutex
	clients []*upstream.Client
	known   []string
}

// register makes c remove every credential known now and later.
func (s *secretSink) register(c *upstream.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients = append(s.clients, c)
	c.AddSecrets(s.known...)
}

// add registers credentials with every client.
func (s *secretSink) add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		if v == "" {
			continue
		}
		s.known = append(s.known, v)
		for _, c := range s.clients {
			c.AddSecrets(v)
		}
	}
}

// addCredentials registers the secret parts of a credential set (the
// access key id is an identifier, not a secret).
func (s *secretSink) addCredentials(c aws.Credentials) {
	s.add(c.SecretAccessKey, c.SessionToken)
}

// registering hands every credential set its provider retrieves to the
// sink. It sits under a CredentialsCache, so it runs once per refresh,
// not once per request.
type registering struct {
	p    aws.CredentialsProvider
	sink *secretSink
}

func (r registering) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := r.p.Retrieve(ctx)
	if err == nil {
		r.sink.addCredentials(c)
	}
	return c, err
}

// staticCredentials returns p's credentials when they are static keys
// (the environment, a profile's keys), which retrieving costs no
// request; ok is false for every other provider.
func staticCredentials(ctx context.Context, p aws.CredentialsProvider) (aws.Credentials, bool) {
	cache, ok := p.(*aws.CredentialsCache)
	if !ok && !aws.IsCredentialsProvider(p, credentials.StaticCredentialsProvider{}) {
		return aws.Credentials{}, false
	}
	if ok && !cache.IsCredentialsProvider(credentials.StaticCredentialsProvider{}) {
		return aws.Credentials{}, false
	}
	c, err := p.Retrieve(ctx)
	return c, err == nil
}
