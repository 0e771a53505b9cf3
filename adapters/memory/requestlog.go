package memory

import (
	"slices"
	"sync"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.RequestLog = (*RequestLog)(nil)

// RequestLog is an in-memory request log that keeps every record in the
// order recorded, for tests. The zero value is ready to use and it is safe
// for concurrent use.
type RequestLog struct {
	mu      sync.Mutex
	records []domain.RequestRecord
}

// NewRequestLog returns an empty RequestLog.
func NewRequestLog() *RequestLog { return &RequestLog{} }

// Record implements ports.RequestLog.
func (l *RequestLog) Record(r domain.RequestRecord) {
	r = cloneRecord(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r)
}

// Records returns a copy of every record, oldest first.
func (l *RequestLog) Records() []domain.RequestRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]domain.RequestRecord, len(l.records))
	for i, r := range l.records {
		out[i] = cloneRecord(r)
	}
	return out
}

// cloneRecord copies what r shares through pointers and slices, so that
// neither the recorder nor a reader can change a stored record.
func cloneRecord(r domain.RequestRecord) domain.RequestRecord {
	r.KeyIndex = clonePtr(r.KeyIndex)
	r.FirstToken = clonePtr(r.FirstToken)
	r.Attempts = slices.Clone(r.Attempts)
	for i := range r.Attempts {
		r.Attempts[i].KeyIndex = clonePtr(r.Attempts[i].KeyIndex)
	}
	return r
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
