package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports/portstest"
)

func newHealth(*testing.T) portstest.Health {
	s := memory.NewHealthStore()
	return portstest.Health{
		Store: s,
		Log: func(_ *testing.T, records ...domain.RequestRecord) {
			for _, r := range records {
				s.RequestLog().Record(r)
			}
		},
	}
}

func TestHealthStoreContract(t *testing.T) { portstest.RunHealthStore(t, newHealth) }

func TestHealthStoreTrafficIgnoresRecordsWithoutTime(t *testing.T) {
	t.Parallel()
	s := memory.NewHealthStore()
	ttft := time.Second
	s.RequestLog().Record(domain.RequestRecord{
		Provider: domain.ProviderGroq, FirstToken: &ttft,
		Attempts: []domain.Attempt{{Provider: domain.ProviderGroq, Reason: "timeout"}},
	})
	got, err := s.Traffic(context.Background(), domain.ProviderGroq, time.Time{}, []domain.AttemptReason{domain.ReasonTimeout})
	require.NoError(t, err)
	assert.Equal(t, domain.TrafficStats{}, got)
}
