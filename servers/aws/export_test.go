package aws

import "github.com/mcpfleet/mcpfleet/pkg/core/authn"

// SessionNameFor exposes the session naming rule to the external tests.
func SessionNameFor(p *authn.Principal) (string, string) { return sessionName(p), sourceIdentity(p) }
