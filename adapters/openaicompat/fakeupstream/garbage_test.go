package fakeupstream_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
)

func TestGarbage(t *testing.T) {
	t.Parallel()
	const (
		role = `data: {"choices":[{"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n"
		tokA = `data: {"choices":[{"delta":{"content":"a"},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-fake","model":"m","object":"chat.completion.chunk"}` + "\n\n"
	)
	tests := []struct {
		name      string
		behaviour fakeupstream.Behaviour
		body      string
		want      string
	}{
		{"not JSON after a token", fakeupstream.Garbage(1, fakeupstream.JunkNotJSON).WithTokens("a"), streamBody,
			role + tokA + "data: upstream says: something went wrong\n\n"},
		{"truncated JSON before any token", fakeupstream.Garbage(0, fakeupstream.JunkTruncatedJSON), streamBody,
			role + `data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"tru` + "\n\n"},
		{"binary, verbatim and without [DONE]", fakeupstream.Garbage(1, fakeupstream.JunkBinary).WithTokens("a"), streamBody,
			role + tokA + "data: \x1f\x8b\x08\x00\x00\x00\xff\xfe\x00\x01\n\n\x00\xde\xad\xbe\xef\xc3\x28"},
		{"not streamed: the junk is the body", fakeupstream.Garbage(2, fakeupstream.JunkTruncatedJSON), `{"model":"m","messages":[],"stream":false}`,
			fakeupstream.JunkTruncatedJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeupstream.New(t)
			srv.Default(tt.behaviour)
			status, _, body := post(t, srv, "k", tt.body)
			assert.Equal(t, 200, status)
			assert.Equal(t, tt.want, body)
		})
	}
}

func TestPick(t *testing.T) {
	t.Parallel()
	srv := fakeupstream.New(t)
	var mu sync.Mutex
	var seen []fakeupstream.Request
	pick := fakeupstream.Pick(func(r fakeupstream.Request) fakeupstream.Behaviour {
		mu.Lock()
		seen = append(seen, r)
		mu.Unlock()
		if r.Messages[0].Content == "fail" {
			return fakeupstream.Status(500, "picked failure")
		}
		// A pick may pick another Pick: it is asked in turn.
		return fakeupstream.Pick(func(r fakeupstream.Request) fakeupstream.Behaviour {
			return fakeupstream.OK("for ", r.Key)
		})
	})
	srv.Script("a", fakeupstream.Status(418, "scripted first"), pick)
	srv.Default(pick)

	body := func(prompt string) string {
		return `{"model":"m","messages":[{"role":"user","content":"` + prompt + `"}],"stream":false}`
	}
	status, _, out := post(t, srv, "a", body("hello"))
	assert.Equal(t, 418, status, "a script runs before its Pick: %s", out)
	status, _, out = post(t, srv, "a", body("hello"))
	assert.Equal(t, 200, status)
	assert.Contains(t, out, `"content":"for a"`)
	status, _, out = post(t, srv, "b", body("fail"))
	assert.Equal(t, 500, status)
	assert.Equal(t, "picked failure", out)
	status, _, out = post(t, srv, "b", body("again"))
	assert.Equal(t, 200, status)
	assert.Contains(t, out, `"content":"for b"`)

	mu.Lock()
	defer mu.Unlock()
	if assert.Len(t, seen, 3, "pick is asked once per request it answers") {
		assert.Equal(t, []string{"a", "b", "b"}, []string{seen[0].Key, seen[1].Key, seen[2].Key})
		assert.Equal(t, "m", seen[1].Model)
		assert.Equal(t, []fakeupstream.Message{{Role: "user", Content: "fail"}}, seen[1].Messages)
	}
	assert.Len(t, srv.Requests(), 4, "picked requests are recorded like any other")
}
