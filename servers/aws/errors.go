package aws

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
)

// throttleCodes are the error codes AWS services answer a throttled call
// with; the SDK's retryer retries them before explain sees one.
var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true, "RequestThrottledException": true,
	"TooManyRequestsException": true, "ProvisionedThroughputExceededException": true, "TransactionInProgressException": true,
	"RequestLimitExceeded": true, "BandwidthLimitExceeded": true, "LimitExceededException": true, "RequestThrottled": true,
	"SlowDown": true, "PriorRequestNotComplete": true, "EC2ThrottledException": true,
}

var deniedCodes = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true, "UnauthorizedOperation": true, "AuthorizationError": true,
	"UnauthorizedException": true, "Forbidden": true, "AllAccessDisabled": true,
}

var credentialCodes = map[string]bool{
	"ExpiredToken": true, "ExpiredTokenException": true, "InvalidClientTokenId": true, "SignatureDoesNotMatch": true,
	"AuthFailure": true, "UnrecognizedClientException": true, "InvalidAccessKeyId": true, "InvalidToken": true,
}

// explain turns a failed AWS call into a tool error the model can act on.
// AWS's own messages are cleaned like any other text from AWS, and every
// credential the server holds is removed from the result (response
// bodies lose them in the upstream client already; this covers text from
// anywhere else, such as a credential provider's or transport's error).
func explain(a *Acct, region string, spec core.ToolSpec, err error) error {
	return a.up.ScrubError(explainError(a, region, spec, err))
}

func explainError(a *Acct, region string, spec core.ToolSpec, err error) error {
	where := fmt.Sprintf("account %q, region %s", a.Name, region)
	attempts := ""
	if mae, ok := errors.AsType[*retry.MaxAttemptsError](err); ok {
		attempts = fmt.Sprintf(" after %d attempts", mae.Attempt)
	}
	if ae, ok := errors.AsType[smithy.APIError](err); ok {
		code, msg := ae.ErrorCode(), message(ae.ErrorMessage())
		switch {
		case throttleCodes[code]:
			return fmt.Errorf("AWS throttled the request in %s (%s: %s)%s; wait a few seconds and call again, with fewer calls at once", where, code, msg, attempts)
		case deniedCodes[code]:
			need := ""
			if len(spec.Permissions) > 0 {
				need = "; this tool needs " + strings.Join(spec.Permissions, ", ")
			}
			return fmt.Errorf("AWS denied the request in %s (%s: %s): the credentials lack permission%s", where, code, msg, need)
		case credentialCodes[code]:
			return fmt.Errorf("AWS rejected the credentials of %s (%s: %s); the server operator must renew them", where, code, msg)
		}
		return fmt.Errorf("AWS answered with an error in %s (%s: %s)%s", where, code, msg, attempts)
	}
	switch {
	case errors.Is(err, upstream.ErrCircuitOpen):
		return fmt.Errorf("AWS (%s) failed repeatedly, so calls are paused for a moment: %v", where, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return err
	}
	if _, ok := errors.AsType[*smithy.OperationError](err); ok {
		// A request that never got an answer (connection refused,
		// credentials that could not be obtained) or one with an answer
		// the SDK could not read.
		return fmt.Errorf("calling AWS in %s failed%s: %s", where, attempts, oneLine(err.Error()))
	}
	return err // the handler's own message about its arguments
}

// message cleans and bounds a message taken from an AWS answer.
func message(s string) string {
	if s = untrusted.ShortLine(s, 300); s == "" {
		return "no message"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// UntrustedNotice is the line results carry when they hold text that
// anyone with write access in the account chose: tags, names,
// descriptions, log messages, object contents.
var UntrustedNotice = untrusted.Notice("AWS (tags, names, descriptions, log messages, object contents)")
