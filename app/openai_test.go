package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
)

// sdkEnv is a gateway with fake upstreams, a user, one of their personal
// API keys and the official OpenAI Go SDK pointed at the gateway with it.
type sdkEnv struct {
	chatEnv
	key    string
	keyID  string
	client openai.Client
	// chats counts the requests the SDK sent to /v1/chat/completions
	// (retries included).
	chats *atomic.Int64
}

func newSDKEnv(t *testing.T, extra map[string]string, opts ...option.RequestOption) sdkEnv {
	t.Helper()
	c := newChatEnv(t, extra)
	res := c.do(http.MethodPost, "/api/v1/keys", map[string]any{"name": "sdk"}, bearer(c.token))
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	body := res.json(t)
	e := sdkEnv{chatEnv: c, key: body["key"].(string), keyID: body["id"].(string), chats: &atomic.Int64{}}
	// The SDK's requests go through the spec-validating transport.
	hc := &http.Client{Timeout: 30 * time.Second, Transport: countingTransport{next: c.http.Transport, path: "/v1/chat/completions", n: e.chats}}
	e.client = openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(c.srv.URL + "/v1/"), option.WithAPIKey(e.key), option.WithHTTPClient(hc),
	}, opts...)...)
	return e
}

type countingTransport struct {
	next http.RoundTripper
	path string
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == c.path {
		c.n.Add(1)
	}
	return c.next.RoundTrip(r)
}

// apiError is the SDK's error for a non-2xx answer.
func apiError(t *testing.T, err error) *openai.Error {
	t.Helper()
	require.Error(t, err)
	var ae *openai.Error
	require.True(t, errors.As(err, &ae), "want the SDK's API error, got %T: %v", err, err)
	return ae
}

func TestOpenAISDKChat(t *testing.T) {
	t.Parallel()
	e := newSDKEnv(t, nil)
	e.up.groq.Default(fakeupstream.OK("Hello", " there").WithUsage(9, 2))
	params := openai.ChatCompletionNewParams{
		Model: "fast",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("Be brief."),
			openai.UserMessage("Hi"),
			openai.AssistantMessage("Hello!"),
			openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{openai.TextContentPart("How are "), openai.TextContentPart("you?")}),
		},
		Temperature:         openai.Float(0.5),
		TopP:                openai.Float(0.9),
		MaxCompletionTokens: openai.Int(64),
		Stop:                openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"END", "STOP"}},
	}

	t.Run("whole", func(t *testing.T) {
		var raw *http.Response
		res, err := e.client.Chat.Completions.New(context.Background(), params, option.WithResponseInto(&raw))
		require.NoError(t, err)
		assert.Equal(t, "chat.completion", string(res.Object))
		assert.True(t, strings.HasPrefix(res.ID, "chatcmpl-"), res.ID)
		assert.Equal(t, "fast", res.Model)
		require.Len(t, res.Choices, 1)
		assert.Equal(t, "Hello there", res.Choices[0].Message.Content)
		assert.Equal(t, "assistant", string(res.Choices[0].Message.Role))
		assert.Equal(t, "stop", res.Choices[0].FinishReason)
		assert.Equal(t, int64(9), res.Usage.PromptTokens)
		assert.Equal(t, int64(2), res.Usage.CompletionTokens)
		assert.Equal(t, int64(11), res.Usage.TotalTokens)
		assert.Equal(t, "groq", raw.Header.Get("X-Genzai-Provider"))
		assert.NotEmpty(t, raw.Header.Get("X-Genzai-Upstream-Model"))

		reqs := e.up.groq.Requests()
		up := reqs[len(reqs)-1]
		assert.Equal(t, []fakeupstream.Message{
			{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"},
			{Role: "assistant", Content: "Hello!"}, {Role: "user", Content: "How are you?"},
		}, up.Messages, "the conversation goes upstream as sent; text parts are joined")
		require.NotNil(t, up.Temperature)
		assert.InDelta(t, 0.5, *up.Temperature, 1e-9)
		require.NotNil(t, up.TopP)
		assert.InDelta(t, 0.9, *up.TopP, 1e-9)
		require.NotNil(t, up.MaxTokens)
		assert.Equal(t, 64, *up.MaxTokens, "max_completion_tokens is the upstream's max_tokens")
		assert.Equal(t, []string{"END", "STOP"}, up.Stop)
		assert.NotContains(t, up.Fields, "tools", "no tools unless offered")
	})

	t.Run("streamed, with usage", func(t *testing.T) {
		p := params
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		var raw *http.Response
		stream := e.client.Chat.Completions.NewStreaming(context.Background(), p, option.WithResponseInto(&raw))
		var acc openai.ChatCompletionAccumulator
		var deltas []string
		for stream.Next() {
			chunk := stream.Current()
			acc.AddChunk(chunk)
			assert.Equal(t, "chat.completion.chunk", string(chunk.Object))
			if len(chunk.Choices) > 0 && chunk.Choices[0].Delta.Content != "" {
				deltas = append(deltas, chunk.Choices[0].Delta.Content)
			}
		}
		require.NoError(t, stream.Err())
		require.NoError(t, stream.Close())
		assert.Equal(t, []string{"Hello", " there"}, deltas, "one chunk per token")
		require.Len(t, acc.Choices, 1)
		assert.Equal(t, "Hello there", acc.Choices[0].Message.Content)
		assert.Equal(t, "stop", acc.Choices[0].FinishReason)
		assert.Equal(t, int64(11), acc.Usage.TotalTokens, "include_usage adds the usage chunk")
		assert.Equal(t, "groq", raw.Header.Get("X-Genzai-Provider"))
		assert.Equal(t, "text/event-stream", raw.Header.Get("Content-Type"))
	})

	t.Run("JSON mode and sampling options reach the provider", func(t *testing.T) {
		p := params
		p.Seed, p.PresencePenalty, p.FrequencyPenalty = openai.Int(7), openai.Float(0.5), openai.Float(-0.5)
		p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &openai.ResponseFormatJSONSchemaParam{
			JSONSchema: openai.ResponseFormatJSONSchemaJSONSchemaParam{Name: "greeting", Schema: map[string]any{"type": "object"}, Strict: openai.Bool(true)},
		}}
		_, err := e.client.Chat.Completions.New(context.Background(), p)
		require.NoError(t, err)
		up := lastRequest(t, e.up.groq)
		assert.JSONEq(t, `{"type":"json_schema","json_schema":{"name":"greeting","schema":{"type":"object"},"strict":true}}`, string(up.Fields["response_format"]))
		assert.JSONEq(t, `7`, string(up.Fields["seed"]))
		assert.JSONEq(t, `0.5`, string(up.Fields["presence_penalty"]))
		assert.JSONEq(t, `-0.5`, string(up.Fields["frequency_penalty"]))

		p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &openai.ResponseFormatJSONObjectParam{}}
		_, err = e.client.Chat.Completions.New(context.Background(), p)
		require.NoError(t, err)
		assert.JSONEq(t, `{"type":"json_object"}`, string(lastRequest(t, e.up.groq).Fields["response_format"]))
	})

	t.Run("the request log says which API", func(t *testing.T) {
		e.registerAdmin("boss@example.com", pw)
		boss := e.login("boss@example.com", pw)
		require.NoError(t, e.chatOnce(e.key))
		require.Eventually(t, func() bool {
			res := e.do(http.MethodGet, "/api/v1/admin/requests?limit=100", nil, bearer(boss))
			if res.status != http.StatusOK {
				return false
			}
			apis := map[string]int{}
			for _, r := range res.json(t)["requests"].([]any) {
				apis[r.(map[string]any)["api"].(string)]++
			}
			return apis["openai"] == 4 && apis["native"] == 1
		}, 10*time.Second, 50*time.Millisecond, "four OpenAI requests and one native request are logged as such")
	})
}

// chatOnce sends one native chat request with the given credential.
func (e sdkEnv) chatOnce(credential string) error {
	res := e.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi", "stream": false}, bearer(credential))
	if res.status != http.StatusOK {
		return errors.New(string(res.body))
	}
	return nil
}

// toolUpstream answers a request that ends with a tool result with text
// quoting it, and any other with a call of get_weather.
func toolUpstream() fakeupstream.Behaviour {
	return fakeupstream.Pick(func(r fakeupstream.Request) fakeupstream.Behaviour {
		if last := r.Messages[len(r.Messages)-1]; last.Role == "tool" {
			return fakeupstream.OK("It is ", last.Content)
		}
		return fakeupstream.ToolCalls(fakeupstream.ToolCall{ID: "call_abc", Name: "get_weather", Arguments: `{"city":"Paris"}`})
	})
}

var weatherTool = openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
	Name:        "get_weather",
	Description: openai.String("The weather of a city"),
	Parameters: openai.FunctionParameters{
		"type":       "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}},
		"required":   []string{"city"},
	},
})

func TestOpenAISDKToolCalls(t *testing.T) {
	t.Parallel()
	e := newSDKEnv(t, nil)
	e.up.groq.Default(toolUpstream())
	question := openai.UserMessage("Weather in Paris?")

	for _, stream := range []bool{true, false} {
		name := map[bool]string{true: "streamed", false: "whole"}[stream]
		t.Run(name, func(t *testing.T) {
			params := openai.ChatCompletionNewParams{
				Model:      "fast",
				Messages:   []openai.ChatCompletionMessageParamUnion{question},
				Tools:      []openai.ChatCompletionToolUnionParam{weatherTool},
				ToolChoice: openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("auto")},
			}
			var msg openai.ChatCompletionMessage
			var finish string
			if stream {
				s := e.client.Chat.Completions.NewStreaming(context.Background(), params)
				var acc openai.ChatCompletionAccumulator
				var finished []openai.FinishedChatCompletionToolCall
				for s.Next() {
					acc.AddChunk(s.Current())
					if tc, ok := acc.JustFinishedToolCall(); ok {
						finished = append(finished, tc)
					}
				}
				require.NoError(t, s.Err())
				require.Len(t, finished, 1, "the SDK sees one whole tool call")
				assert.Equal(t, "get_weather", finished[0].Name)
				assert.JSONEq(t, `{"city":"Paris"}`, finished[0].Arguments)
				msg, finish = acc.Choices[0].Message, acc.Choices[0].FinishReason
			} else {
				res, err := e.client.Chat.Completions.New(context.Background(), params)
				require.NoError(t, err)
				msg, finish = res.Choices[0].Message, res.Choices[0].FinishReason
			}
			assert.Equal(t, "tool_calls", finish)
			require.Len(t, msg.ToolCalls, 1)
			call := msg.ToolCalls[0]
			assert.Equal(t, "call_abc", call.ID)
			assert.Equal(t, "get_weather", call.Function.Name)
			assert.JSONEq(t, `{"city":"Paris"}`, call.Function.Arguments)

			up := lastRequest(t, e.up.groq)
			var tools []map[string]any
			require.NoError(t, json.Unmarshal(up.Fields["tools"], &tools))
			require.Len(t, tools, 1)
			assert.Equal(t, "function", tools[0]["type"])
			fn := tools[0]["function"].(map[string]any)
			assert.Equal(t, "get_weather", fn["name"])
			assert.Equal(t, map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []any{"city"}},
				fn["parameters"], "the schema reaches the provider unchanged")
			assert.JSONEq(t, `"auto"`, string(up.Fields["tool_choice"]))

			// The tool's result goes back; the model answers with it.
			params.Messages = append(params.Messages, msg.ToParam(), openai.ToolMessage("18C and sunny", call.ID))
			res, err := e.client.Chat.Completions.New(context.Background(), params)
			require.NoError(t, err)
			assert.Equal(t, "It is 18C and sunny", res.Choices[0].Message.Content)
			up = lastRequest(t, e.up.groq)
			require.Len(t, up.Messages, 3)
			assert.Equal(t, "assistant", up.Messages[1].Role)
			require.Len(t, up.Messages[1].ToolCalls, 1, "the assistant's tool call goes upstream")
			assert.Equal(t, "call_abc", up.Messages[1].ToolCalls[0].ID)
			assert.Equal(t, "get_weather", up.Messages[1].ToolCalls[0].Name)
			assert.Equal(t, "tool", up.Messages[2].Role)
			assert.Equal(t, "call_abc", up.Messages[2].ToolCallID)
		})
	}

	t.Run("a named tool choice", func(t *testing.T) {
		_, err := e.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model:    "fast",
			Messages: []openai.ChatCompletionMessageParamUnion{question},
			Tools:    []openai.ChatCompletionToolUnionParam{weatherTool},
			ToolChoice: openai.ChatCompletionToolChoiceOptionUnionParam{OfFunctionToolChoice: &openai.ChatCompletionNamedToolChoiceParam{
				Function: openai.ChatCompletionNamedToolChoiceFunctionParam{Name: "get_weather"},
			}},
		})
		require.NoError(t, err)
		assert.JSONEq(t, `{"type":"function","function":{"name":"get_weather"}}`, string(lastRequest(t, e.up.groq).Fields["tool_choice"]))
	})
}

func lastRequest(t *testing.T, s *fakeupstream.Server) fakeupstream.Request {
	t.Helper()
	reqs := s.Requests()
	require.NotEmpty(t, reqs)
	return reqs[len(reqs)-1]
}

func TestOpenAISDKModels(t *testing.T) {
	t.Parallel()
	e := newSDKEnv(t, map[string]string{"HUGGINGFACE_API_KEY": ""})
	page, err := e.client.Models.List(context.Background())
	require.NoError(t, err)
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
		assert.Equal(t, "model", string(m.Object))
		assert.Equal(t, "genzai", m.OwnedBy)
		assert.Positive(t, m.Created)
	}
	assert.Equal(t, []string{"fast", "balanced", "smart"}, ids)
	m, err := e.client.Models.Get(context.Background(), "balanced")
	require.NoError(t, err)
	assert.Equal(t, "balanced", m.ID)
	_, err = e.client.Models.Get(context.Background(), "gpt-4o")
	ae := apiError(t, err)
	assert.Equal(t, http.StatusNotFound, ae.StatusCode)
	assert.Equal(t, "model_not_found", ae.Code)
}

func TestOpenAISDKQuota(t *testing.T) {
	t.Parallel()
	// The SDK's default retries stay on: the quota answer must stop them.
	e := newSDKEnv(t, map[string]string{"USER_DAILY_QUOTA": "2"})
	params := openai.ChatCompletionNewParams{Model: "fast", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}}
	for range 2 {
		_, err := e.client.Chat.Completions.New(context.Background(), params)
		require.NoError(t, err)
	}
	for _, stream := range []bool{false, true} {
		before := e.chats.Load()
		var err error
		if stream {
			s := e.client.Chat.Completions.NewStreaming(context.Background(), params)
			for s.Next() {
			}
			err = s.Err()
		} else {
			_, err = e.client.Chat.Completions.New(context.Background(), params)
		}
		ae := apiError(t, err)
		assert.Equal(t, http.StatusTooManyRequests, ae.StatusCode)
		assert.Equal(t, "daily_quota_exceeded", ae.Code)
		assert.Equal(t, "insufficient_quota", ae.Type)
		assert.Contains(t, ae.Message, "2 of 2")
		assert.Equal(t, int64(1), e.chats.Load()-before, "x-should-retry: false stops the SDK's retries")
	}
	// Exactly like a native client: the same quota, the same refusal.
	q := e.do(http.MethodGet, "/api/v1/quota", nil, bearer(e.token)).json(t)
	assert.Equal(t, float64(2), q["used"])
	res := e.do(http.MethodPost, "/api/v1/chat", map[string]any{"prompt": "Hi"}, bearer(e.key))
	assert.Equal(t, http.StatusTooManyRequests, res.status)
	assert.Len(t, e.up.groq.Requests(), 2)
}

func TestOpenAISDKCredentials(t *testing.T) {
	t.Parallel()
	e := newSDKEnv(t, nil)
	params := openai.ChatCompletionNewParams{Model: "fast", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}}

	t.Run("an access token works too", func(t *testing.T) {
		_, err := e.client.Chat.Completions.New(context.Background(), params, option.WithAPIKey(e.token))
		require.NoError(t, err)
	})
	t.Run("an unknown key", func(t *testing.T) {
		_, err := e.client.Chat.Completions.New(context.Background(), params, option.WithAPIKey("gz-"+strings.Repeat("A", 43)))
		ae := apiError(t, err)
		assert.Equal(t, http.StatusUnauthorized, ae.StatusCode)
		assert.Equal(t, "authentication_error", ae.Type)
	})
	t.Run("a revoked key", func(t *testing.T) {
		res := e.do(http.MethodDelete, "/api/v1/keys/"+e.keyID, nil, bearer(e.token))
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		_, err := e.client.Chat.Completions.New(context.Background(), params)
		ae := apiError(t, err)
		assert.Equal(t, http.StatusUnauthorized, ae.StatusCode)
		assert.Equal(t, "invalid_api_key", ae.Code)
		_, err = e.client.Models.List(context.Background())
		assert.Equal(t, http.StatusUnauthorized, apiError(t, err).StatusCode)
	})
}

func TestOpenAIErrors(t *testing.T) {
	t.Parallel()
	e := newSDKEnv(t, map[string]string{"MAX_PROMPT_CHARS": "10"}, option.WithMaxRetries(0))
	user := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}
	tests := []struct {
		name   string
		params openai.ChatCompletionNewParams
		param  string
	}{
		{"an OpenAI model name", openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: user}, "model"},
		{"no messages", openai.ChatCompletionNewParams{Model: "fast", Messages: []openai.ChatCompletionMessageParamUnion{}}, "messages"},
		{"two answers", openai.ChatCompletionNewParams{Model: "fast", Messages: user, N: openai.Int(2)}, "n"},
		{"top_p out of range", openai.ChatCompletionNewParams{Model: "fast", Messages: user, TopP: openai.Float(2)}, "top_p"},
		{"a penalty out of range", openai.ChatCompletionNewParams{Model: "fast", Messages: user, PresencePenalty: openai.Float(2.5)}, "presence_penalty"},
		{"an image part", openai.ChatCompletionNewParams{Model: "fast", Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "https://example.com/a.png"})}),
		}}, "messages[0].content[0].type"},
		{"a tool result without its call", openai.ChatCompletionNewParams{Model: "fast", Messages: []openai.ChatCompletionMessageParamUnion{
			openai.ToolMessage("18C", ""),
		}}, "messages[0].tool_call_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.Chat.Completions.New(context.Background(), tt.params)
			ae := apiError(t, err)
			assert.Equal(t, http.StatusBadRequest, ae.StatusCode)
			assert.Equal(t, "invalid_request_error", ae.Type)
			assert.Equal(t, "invalid_request", ae.Code)
			assert.Equal(t, tt.param, ae.Param)
		})
	}
	assert.Empty(t, e.up.groq.Requests(), "invalid requests reach no provider")

	t.Run("malformed JSON", func(t *testing.T) {
		res := e.do(http.MethodPost, "/v1/chat/completions", `{"model":`, bearer(e.key))
		assert.Equal(t, http.StatusBadRequest, res.status)
		body := res.json(t)["error"].(map[string]any)
		assert.Equal(t, "invalid_request_error", body["type"])
		assert.Contains(t, body["message"], "Invalid JSON body")
	})

	t.Run("unknown routes answer in OpenAI's shape", func(t *testing.T) {
		res := e.do(http.MethodPost, "/v1/embeddings", map[string]any{"model": "fast", "input": "x"}, bearer(e.key))
		assert.Equal(t, http.StatusNotFound, res.status)
		assert.Equal(t, "not_found_error", res.json(t)["error"].(map[string]any)["type"])
	})

	t.Run("falls back before the first token", func(t *testing.T) {
		e.up.groq.Default(fakeupstream.Status(http.StatusInternalServerError, `{"error":{"message":"down"}}`))
		e.up.openrouter.Default(fakeupstream.OK("from openrouter"))
		var raw *http.Response
		res, err := e.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "balanced", Messages: user}, option.WithResponseInto(&raw))
		require.NoError(t, err)
		assert.Equal(t, "from openrouter", res.Choices[0].Message.Content)
		assert.Equal(t, "openrouter", raw.Header.Get("X-Genzai-Provider"))
	})

	t.Run("no provider answers", func(t *testing.T) {
		for _, s := range []*fakeupstream.Server{e.up.groq, e.up.openrouter, e.up.huggingface} {
			s.Default(fakeupstream.Status(http.StatusInternalServerError, `{"error":{"message":"down"}}`))
		}
		before := quotaUsed(t, e)
		_, err := e.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "balanced", Messages: user})
		ae := apiError(t, err)
		assert.Equal(t, http.StatusServiceUnavailable, ae.StatusCode)
		assert.Equal(t, "server_error", ae.Type)
		assert.Equal(t, "providers_unavailable", ae.Code)
		assert.Equal(t, before, quotaUsed(t, e), "the quota is refunded")
	})

	t.Run("a provider failing mid-stream", func(t *testing.T) {
		e.up.groq.Default(fakeupstream.DropAfterTokens(1).WithTokens("Hel", "lo"))
		s := e.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "fast", Messages: user})
		var got string
		for s.Next() {
			if c := s.Current(); len(c.Choices) > 0 {
				got += c.Choices[0].Delta.Content
			}
		}
		require.Error(t, s.Err(), "the SDK raises the error event")
		assert.Contains(t, s.Err().Error(), "stream_interrupted")
		assert.Equal(t, "Hello", got, "the tokens before the failure arrive")
	})
}

func quotaUsed(t *testing.T, e sdkEnv) float64 {
	t.Helper()
	return e.do(http.MethodGet, "/api/v1/quota", nil, bearer(e.token)).json(t)["used"].(float64)
}

// TestOpenAIStreamExactBytes pins the wire format of a streamed answer with
// a tool call: what every OpenAI client parses.
func TestOpenAIStreamExactBytes(t *testing.T) {
	t.Parallel()
	e := newSDKEnv(t, nil)
	e.up.groq.Default(fakeupstream.ToolCalls(fakeupstream.ToolCall{ID: "call_1", Name: "f", Arguments: `{"a":1}`}).WithTokens("Hi").WithUsage(5, 2))
	body := map[string]any{
		"model": "fast", "stream": true, "stream_options": map[string]any{"include_usage": true},
		"messages": []map[string]any{{"role": "user", "content": "x"}},
		"tools":    []map[string]any{{"type": "function", "function": map[string]any{"name": "f"}}},
	}
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/chat/completions", strings.NewReader(string(raw)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.key)
	res, err := e.http.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	assert.Equal(t, "groq", res.Header.Get("X-Genzai-Provider"))
	got, err := io.ReadAll(res.Body)
	require.NoError(t, err)

	var created int64
	events := strings.Split(strings.TrimSuffix(string(got), "\n\n"), "\n\n")
	require.NotEmpty(t, events)
	var first struct{ Created int64 }
	require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(events[0], "data: ")), &first))
	created = first.Created
	assert.InDelta(t, time.Now().Unix(), created, 60)

	head := `{"id":"chatcmpl-` + res.Header.Get("X-Request-ID") + `","object":"chat.completion.chunk","created":` + strconv.FormatInt(created, 10) + `,"model":"fast","choices":`
	choice := func(delta, finish string) string {
		return head + `[{"index":0,"delta":` + delta + `,"logprobs":null,"finish_reason":` + finish + `}]}`
	}
	want := []string{
		choice(`{"role":"assistant","content":""}`, "null"),
		choice(`{"content":"Hi"}`, "null"),
		choice(`{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}`, "null"),
		choice(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"a"}}]}`, "null"),
		choice(`{"tool_calls":[{"index":0,"function":{"arguments":"\":1}"}}]}`, "null"),
		choice(`{}`, `"tool_calls"`),
		head + `[],"usage":{"completion_tokens":2,"prompt_tokens":5,"total_tokens":7}}`,
		"[DONE]",
	}
	for i := range want {
		want[i] = "data: " + want[i]
	}
	assert.Equal(t, want, events)
}

func TestOpenAIRateLimit(t *testing.T) {
	t.Parallel()
	// The per-client limit of every route: creating the key takes one request.
	e := newSDKEnv(t, map[string]string{"RATE_LIMIT_PER_MINUTE": "3"}, option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{Model: "fast", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}}
	for range 2 {
		_, err := e.client.Chat.Completions.New(context.Background(), params)
		require.NoError(t, err)
	}
	var raw *http.Response
	_, err := e.client.Chat.Completions.New(context.Background(), params, option.WithResponseInto(&raw))
	ae := apiError(t, err)
	assert.Equal(t, http.StatusTooManyRequests, ae.StatusCode)
	assert.Equal(t, "rate_limit_error", ae.Type)
	assert.Equal(t, "rate_limited", ae.Code)
	assert.NotEmpty(t, ae.Response.Header.Get("Retry-After"), "the SDKs wait as told")
	assert.Empty(t, ae.Response.Header.Get("X-Should-Retry"), "a rate limit is worth retrying")
}
