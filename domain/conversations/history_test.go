package conversations_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/conversations"
)

func stored(pairs ...string) []domain.ConversationMessage {
	var out []domain.ConversationMessage
	for i, content := range pairs {
		role := domain.MessageFromUser
		if i%2 == 1 {
			role = domain.MessageFromAssistant
		}
		out = append(out, domain.ConversationMessage{Role: role, Content: content})
	}
	return out
}

func sent(system string, contents []string, prompt string) []domain.Message {
	var out []domain.Message
	if system != "" {
		out = append(out, domain.Message{Role: domain.RoleSystem, Content: system})
	}
	for i, c := range contents {
		role := domain.RoleUser
		if i%2 == 1 {
			role = domain.RoleAssistant
		}
		out = append(out, domain.Message{Role: role, Content: c})
	}
	return append(out, domain.Message{Role: domain.RoleUser, Content: prompt})
}

func TestBuildHistory(t *testing.T) {
	t.Parallel()
	history := stored("q1 aaaa", "a1 bbbb", "q2 cccc", "a2 dddd") // 7 characters each
	tests := []struct {
		name     string
		system   string
		stored   []domain.ConversationMessage
		maxChars int
		want     []domain.Message
	}{
		{"everything fits", "sys", history, 3 + 28 + 2, sent("sys", []string{"q1 aaaa", "a1 bbbb", "q2 cccc", "a2 dddd"}, "hi")},
		{"no system prompt", "", history, 28 + 2, sent("", []string{"q1 aaaa", "a1 bbbb", "q2 cccc", "a2 dddd"}, "hi")},
		{"the latest turn only", "sys", history, 3 + 14 + 2, sent("sys", []string{"q2 cccc", "a2 dddd"}, "hi")},
		{"one character short of a message: it is left out whole", "sys", history, 3 + 21 - 1 + 2, sent("sys", []string{"q2 cccc", "a2 dddd"}, "hi")},
		{"an answer without its question is left out", "sys", history, 3 + 21 + 2, sent("sys", []string{"q2 cccc", "a2 dddd"}, "hi")},
		{"nothing fits", "sys", history, 3 + 6 + 2, sent("sys", nil, "hi")},
		{"a budget smaller than the prompt still sends it", "sys", history, 1, sent("sys", nil, "hi")},
		{"no history", "sys", nil, 100, sent("sys", nil, "hi")},
		{"characters, not bytes", "", stored("ééééé", "ü"), 5 + 1 + 2, sent("", []string{"ééééé", "ü"}, "hi")},
		{"a gap is never made: an old short message stays out", "", stored("x", "y", strings.Repeat("z", 50), "w"), 3 + 2, sent("", nil, "hi")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := conversations.BuildHistory(tt.system, tt.stored, "hi", tt.maxChars)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestHistoryReadsTheLatestMessages(t *testing.T) {
	t.Parallel()
	f := newFixture(conversations.Config{HistoryMaxChars: 3 + 2 + 2*5})
	c, err := f.svc.Create(ctx, ada, nil)
	require.NoError(t, err)
	for _, m := range stored("q1---", "a1---", "q2---", "a2---") {
		m.ConversationID, m.Status = c.ID, domain.MessageComplete
		_, err := f.svc.Append(ctx, ada, m)
		require.NoError(t, err)
	}
	got, err := f.svc.History(ctx, ada, c.ID, "sys", "hi")
	require.NoError(t, err)
	assert.Equal(t, sent("sys", []string{"q2---", "a2---"}, "hi"), got)
}
