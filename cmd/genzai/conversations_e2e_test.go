package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
)

// TestConversationAcrossInstances continues one conversation on two real
// instances sharing a database: the fake provider records what each turn
// sent, and the history reaches it in order and within
// CHAT_HISTORY_MAX_CHARS, whichever instance stored the turns before.
func TestConversationAcrossInstances(t *testing.T) {
	t.Parallel()
	groq := fakeupstream.New(t)
	s := startInstances(t, 2, serverVars(pgtest.NewURL(t)).with(vars{
		"GROQ_BASE_URL":                   groq.URL(),
		"GROQ_API_KEYS":                   "gsk-conversations",
		"PROVIDER_CHECK_INTERVAL_SECONDS": "0",
		"CHAT_HISTORY_MAX_CHARS":          "1000",
	}))
	s[0].register(t, "ada@example.com", "correct horse")
	tokens := []string{s[0].login(t, "ada@example.com", "correct horse").AccessToken, s[1].login(t, "ada@example.com", "correct horse").AccessToken}

	// 1000 characters hold the first turn (500) beside the second prompt
	// (300); beside the third, the second turn, not the first as well.
	q1, a1 := strings.Repeat("a", 300), strings.Repeat("b", 200)
	q2, a2 := strings.Repeat("c", 300), strings.Repeat("d", 200)
	turn := func(i int, prompt, answer, conv string) string {
		t.Helper()
		groq.Default(fakeupstream.OK(answer))
		r := s[i].do(t, http.MethodPost, "/api/v1/chat", jsonBody(t, map[string]any{"prompt": prompt, "stream": false, "conversation_id": conv}),
			bearer(tokens[i])...)
		require.Equal(t, http.StatusOK, r.status, "instance %d: %s", i, r.body)
		return decode[struct {
			ConversationID string `json:"conversation_id"`
		}](t, r).ConversationID
	}
	id := turn(0, q1, a1, "new")
	require.NotEmpty(t, id)
	assert.Equal(t, id, turn(1, q2, a2, id), "continued on the other instance")
	turn(0, "Which?", "That one.", id)

	var sent [][]fakeupstream.Message
	for _, r := range groq.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/chat/completions") {
			sent = append(sent, r.Messages)
		}
	}
	require.Len(t, sent, 3)
	assert.Equal(t, []fakeupstream.Message{{Role: "user", Content: q1}, {Role: "assistant", Content: a1}, {Role: "user", Content: q2}}, sent[1],
		"the first turn, stored by the other instance, reached the provider in order")
	assert.Equal(t, []fakeupstream.Message{{Role: "user", Content: q2}, {Role: "assistant", Content: a2}, {Role: "user", Content: "Which?"}}, sent[2],
		"within CHAT_HISTORY_MAX_CHARS: the latest whole messages that fit beside the prompt")

	r := s[1].do(t, http.MethodGet, "/api/v1/conversations/"+id, "", bearer(tokens[1])...)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	thread := decode[struct {
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}](t, r)
	var contents []string
	for _, m := range thread.Messages {
		contents = append(contents, m.Role+":"+m.Content[:min(len(m.Content), 6)])
	}
	assert.Equal(t, []string{"user:aaaaaa", "assistant:bbbbbb", "user:cccccc", "assistant:dddddd", "user:Which?", "assistant:That o"}, contents)
}
