package authn

import "strconv"

// MaxTokenBytes caps a bearer credential. Real access tokens are well
// under 4 KiB (an RS256 JWT with a few dozen claims is about 1 KiB); a
// larger one is refused with 401 before it is decoded, hashed or its
// signature checked, so a validly signed 100 KiB token cannot make every
// request pay for parsing it.
const MaxTokenBytes = 8 << 10

func tooLong(n int) string {
	return "bearer token is " + strconv.Itoa(n) + " bytes; the limit is " + strconv.Itoa(MaxTokenBytes)
}
