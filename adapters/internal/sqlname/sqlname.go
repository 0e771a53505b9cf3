// Package sqlname names SQL statements for metrics and traces with a bounded
// set of values: the sqlc query name, a transaction keyword, or "other".
package sqlname

import "strings"

// Names for statements that are not sqlc queries.
const (
	Begin    = "begin"
	Commit   = "commit"
	Rollback = "rollback"
	Other    = "other"
)

// maxName bounds a query name; longer is not an sqlc name.
const maxName = 64

// Of names a statement: "ConsumeQuota" for sqlc's "-- name: ConsumeQuota
// :one" header, "begin", "commit" or "rollback" for the transaction
// statements pgx sends, and "other" for anything else (migrations, ad hoc
// SQL), so that a label never carries SQL text. It does not allocate: the
// name is a substring of sql.
func Of(sql string) string {
	if rest, ok := strings.CutPrefix(sql, "-- name: "); ok {
		end := strings.IndexAny(rest, " \t\r\n")
		if end < 0 {
			end = len(rest)
		}
		if name := rest[:end]; validName(name) {
			return name
		}
		return Other
	}
	word := strings.TrimSpace(sql)
	if i := strings.IndexAny(word, " \t\r\n;"); i >= 0 {
		word = word[:i]
	}
	switch {
	case strings.EqualFold(word, Begin):
		return Begin
	case strings.EqualFold(word, Commit):
		return Commit
	case strings.EqualFold(word, Rollback):
		return Rollback
	}
	return Other
}

// validName accepts Go identifiers of a reasonable length, as sqlc names are.
func validName(s string) bool {
	if s == "" || len(s) > maxName {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			return false
		}
	}
	return true
}
