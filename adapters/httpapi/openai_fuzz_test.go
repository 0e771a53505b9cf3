package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
)

// openAISeeds are OpenAI chat completion bodies around every rule.
var openAISeeds = []string{
	`{"model":"fast","messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"balanced","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}]}`,
	`{"model":"smart","messages":[{"role":"developer","content":"x"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],"temperature":0.5,"top_p":1,"max_completion_tokens":64,"stop":"END"}`,
	`{"model":"fast","messages":[{"role":"user","content":"w?"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"18"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":{"type":"function","function":{"name":"f"}}}`,
	`{"model":"fast","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"bad name"}}]}`,
	`{"model":"fast","messages":[{"role":"user","content":"x"}],"tool_choice":"required"}`,
	`{"model":"fast","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x"}}]}]}`,
	`{"model":"fast","messages":[{"role":"tool","content":"x"}]}`,
	`{"model":"fast","messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]}`,
	`{"model":"fast","messages":[{"role":"user","content":"x"}],"n":2}`,
	`{"model":"fast","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{}}},"seed":1,"presence_penalty":-2,"frequency_penalty":2}`,
	`{"model":"fast","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object","json_schema":null},"presence_penalty":2.5}`,
	`{"model":"fast","messages":[{"role":"user","content":5}]}`,
	`{"model":"fast","messages":[{"role":"user","content":"x"}],"stop":7,"tool_choice":7}`,
	`{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}`,
	`{"model":"fast","messages":[]}`,
	`{"model":"fast","messages":[{"role":"user","content":"  "}]}`,
	`{"model":"fast","messages":[{"role":"user","content":[{"type":"text","text":" "},{"type":"text","text":"\n"}]}]}`,
	`{"messages":[{"role":"user","content":"x"}]}`,
	`{"model":"fast","messages":[{"role":"user","content":"x"}],"top_p":1.5,"max_tokens":0}`,
	"{\"model\":\"fast\",\"messages\":[{\"role\":\"user\",\"content\":\"bad \xff\"}]}",
	`{"model":"fast","messages":[{"role":"user","content":"\u0000"}]}`,
	`{"model":"fast","messages":null,"tools":null,"tool_choice":null,"stop":null}`,
	`[]`, `null`, `{`, ``,
}

// FuzzOpenAIChatRequest posts fuzzed bodies to POST /v1/chat/completions
// through the whole handler. No body may cause a 5xx, a panic or a logged
// problem; the answer is a 200 chat completion (or a stream ending in
// [DONE]) that sent the conversation upstream message for message, or a
// 400 in OpenAI's error shape that reached no provider.
func FuzzOpenAIChatRequest(f *testing.F) {
	for _, s := range openAISeeds {
		f.Add([]byte(s))
	}
	s := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > fuzzMaxBody {
			t.Skip("over the body limit: a 413, not a decoding matter")
		}
		rec := s.do(http.MethodPost, "/v1/chat/completions", "Bearer "+s.token, body)
		sent := s.provider.take()
		require.Empty(t, s.problems.take(), "status %d", rec.Code)
		if rec.Code != http.StatusOK {
			require.Equal(t, http.StatusBadRequest, rec.Code, "%s", rec.Body)
			var e api.OpenAIErrorResponse
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e))
			assert.Equal(t, api.InvalidRequestError, e.Error.Type)
			assert.NotEmpty(t, e.Error.Message)
			assert.Empty(t, sent, "an invalid request reached the provider")
			return
		}
		require.Len(t, sent, 1)
		var b api.OpenAIChatRequest
		// Decoded as the server's binder does (it refuses trailing data).
		require.NoError(t, json.NewDecoder(bytes.NewReader(body)).Decode(&b), "an accepted body is JSON that decodes")
		assert.Len(t, sent[0].Messages, len(b.Messages), "the conversation goes upstream message for message")
		assert.Equal(t, fuzzModels[domain.Tier(b.Model)], sent[0].Model)
		if b.Stream != nil && *b.Stream {
			lines := readDataLines(t, rec.Body.Bytes())
			require.NotEmpty(t, lines)
			assert.Equal(t, "[DONE]", lines[len(lines)-1])
			return
		}
		var c api.OpenAIChatCompletion
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &c))
		require.Len(t, c.Choices, 1)
		require.NotNil(t, c.Choices[0].Message.Content)
		assert.Equal(t, "ok", *c.Choices[0].Message.Content)
	})
}

// readDataLines returns the data of every event of an SSE body.
func readDataLines(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	require.NoError(t, sc.Err())
	return out
}
