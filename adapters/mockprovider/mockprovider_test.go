package mockprovider_test

import (
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/mockprovider"
	"github.com/genzai/genzai/domain"
)

func TestDeliveries(t *testing.T) {
	t.Parallel()
	req := domain.CompletionRequest{Model: "m", Messages: []domain.Message{{Role: domain.RoleUser, Content: "hello there"}}}
	reply := mockprovider.Reply(req)
	tests := []struct {
		name     string
		delivery domain.Delivery
		deltas   int // how many deltas carry content
	}{
		{name: "streamed word by word", delivery: domain.DeliveryStreamed, deltas: 21},
		{name: "whole", delivery: domain.DeliveryWhole, deltas: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := req
			r.Delivery = tt.delivery
			s, err := mockprovider.New(0).StreamChat(t.Context(), 0, r)
			require.NoError(t, err)
			defer s.Close()
			var text string
			var contents int
			var last domain.ChatDelta
			for {
				d, err := s.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				if d.Content != "" {
					contents++
				}
				text += d.Content
				last = d
			}
			assert.Equal(t, reply, text)
			assert.Equal(t, tt.deltas, contents)
			assert.Equal(t, "stop", last.FinishReason)
			assert.Equal(t, &domain.Usage{PromptTokens: 2, CompletionTokens: 21}, last.Usage)
		})
	}
}
