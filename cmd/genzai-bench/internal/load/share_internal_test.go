package load

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIsStreamShare(t *testing.T) {
	t.Parallel()
	for _, share := range []float64{0, 0.2, 0.5, 1} {
		n := 0
		for i := range uint64(1000) {
			if isStream(i+1, share) {
				n++
			}
		}
		assert.InDelta(t, share*1000, n, 2, "share %v", share)
		// Evenly spread: any 100 consecutive requests hold about the share.
		m := 0
		for i := range uint64(100) {
			if isStream(i+500, share) {
				m++
			}
		}
		assert.InDelta(t, share*100, m, 2, "share %v over 100", share)
	}
}

func TestAnswered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want bool
	}{
		{`{"content":"Hello"}`, true},
		{`{"choices":[{"message":{"role":"assistant","content":"tok "}}]}`, true},
		{`{"content": "spaced"}`, true},
		{`{"content":""}`, false},
		{`{"content":null}`, false},
		{`{"error":"x"}`, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, answered([]byte(tt.body)), tt.body)
	}
}
