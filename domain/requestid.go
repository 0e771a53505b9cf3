package domain

import "strings"

// MaxRequestIDLen bounds a request id, sent by a client or made by the server.
const MaxRequestIDLen = 128

// ValidRequestID reports whether id is a request id as genzai accepts them,
// from a client's X-Request-ID or in a feedback's request_id: 1 to 128
// characters of A-Z a-z 0-9 - _ . : (UUIDs, trace ids). Nothing else can
// reach a log line or a query: no control characters (a NUL is refused by
// PostgreSQL), no spaces, no quotes.
func ValidRequestID(id string) bool {
	if id == "" || len(id) > MaxRequestIDLen {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)
		if !ok {
			return false
		}
	}
	return true
}
