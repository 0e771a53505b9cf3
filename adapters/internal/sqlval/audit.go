package sqlval

import (
	"encoding/json"
	"fmt"

	"github.com/genzai/genzai/domain"
)

// KeyScopes are the scope names a key is stored with: its scopes, or the
// default ones when none were given.
func KeyScopes(scopes []domain.Scope) []string {
	if len(scopes) == 0 {
		scopes = domain.DefaultScopes()
	}
	return domain.ScopeStrings(scopes)
}

// AuditDetails is the JSON object an audit entry's details are stored as;
// nil details are the empty object.
func AuditDetails(d map[string]any) ([]byte, error) {
	if d == nil {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode audit details: %w", err)
	}
	return b, nil
}

// ParseAuditDetails reads stored details back; a stored value that is not
// an object (never written by AuditDetails) reads as an empty one.
func ParseAuditDetails(b []byte) map[string]any {
	d := map[string]any{}
	_ = json.Unmarshal(b, &d)
	if d == nil {
		d = map[string]any{}
	}
	return d
}
