package admin

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/genzai/genzai/domain"
)

// RequestQuery selects request log rows; empty fields match everything and
// a nil Limit means the default.
type RequestQuery struct {
	UserID   domain.UserID
	Provider string
	Outcome  domain.Outcome
	Limit    *int
	Cursor   string
}

// RequestPage is a page of the request log; NextCursor is "" on the last page.
type RequestPage struct {
	Requests   []domain.LoggedRequest
	NextCursor string
}

var outcomes = map[domain.Outcome]bool{
	domain.OutcomeSuccess: true, domain.OutcomeError: true, domain.OutcomeCancelled: true,
	domain.OutcomeInvalid: true, domain.OutcomeQuota: true, domain.OutcomeInterrupted: true,
}

// ListRequests returns a page of the request log, newest first.
// Errors: CodeForbidden, CodeInvalid, CodeUnavailable.
func (s *Service) ListRequests(ctx context.Context, actor domain.User, q RequestQuery) (RequestPage, error) {
	if err := requireAdmin(actor); err != nil {
		return RequestPage{}, err
	}
	if q.Outcome != "" && !outcomes[q.Outcome] {
		return RequestPage{}, domain.Invalid("outcome", "must be one of success, error, cancelled, invalid, quota_exceeded, interrupted")
	}
	if len(q.Provider) > maxProviderChars {
		return RequestPage{}, domain.Invalid("provider", "must be at most %d characters", maxProviderChars)
	}
	if !isText(q.Provider) {
		return RequestPage{}, domain.Invalid("provider", "must be text")
	}
	limit, err := pageSize(q.Limit, DefaultLogPage, MaxLogPage)
	if err != nil {
		return RequestPage{}, err
	}
	f := domain.RequestFilter{UserID: q.UserID, Provider: domain.Provider(q.Provider), Outcome: q.Outcome, Limit: limit + 1}
	if q.Cursor != "" {
		c, ok := decodeRequestCursor(q.Cursor)
		if !ok {
			return RequestPage{}, domain.Invalid("cursor", "not a cursor this server issued")
		}
		f.Before = &c
	}
	rows, err := s.store.ListRequests(ctx, f)
	if err != nil {
		return RequestPage{}, fmt.Errorf("list requests: %w", err)
	}
	page := RequestPage{Requests: rows}
	if len(rows) > limit {
		page.Requests = rows[:limit]
		last := rows[limit-1]
		page.NextCursor = encodeRequestCursor(domain.RequestCursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	return page, nil
}

// isText reports whether s is text a store can hold and compare: UTF-8
// without NUL (PostgreSQL refuses both, which would be a 500).
func isText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

func pageSize(limit *int, def, max int) (int, error) {
	switch {
	case limit == nil:
		return def, nil
	case *limit < 1 || *limit > max:
		return 0, domain.Invalid("limit", "must be 1 to %d", max)
	}
	return *limit, nil
}

// A request cursor is "<unix microseconds>:<id>", base64url encoded: the
// store keeps microseconds, so the position is exact.
func encodeRequestCursor(c domain.RequestCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + ":" + strconv.FormatInt(c.ID, 10)))
}

func decodeRequestCursor(s string) (domain.RequestCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return domain.RequestCursor{}, false
	}
	at, id, ok := strings.Cut(string(b), ":")
	if !ok {
		return domain.RequestCursor{}, false
	}
	micros, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n < 0 {
		return domain.RequestCursor{}, false
	}
	return domain.RequestCursor{CreatedAt: time.UnixMicro(micros).UTC(), ID: n}, true
}
