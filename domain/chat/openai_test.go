package chat_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
)

// openAIReq is a valid OpenAI API request with a tool on offer.
func openAIReq() chat.Request {
	return chat.Request{
		API:      domain.APIOpenAI,
		Tier:     domain.TierFast,
		Stream:   true,
		Messages: []domain.Message{{Role: domain.RoleSystem, Content: "be brief"}, {Role: domain.RoleUser, Content: "weather in Paris?"}},
		Tools:    []domain.Tool{{Name: "get_weather", Description: "Weather of a city", Parameters: json.RawMessage(`{"type":"object"}`)}},
	}
}

func TestOpenAIValidation(t *testing.T) {
	t.Parallel()
	with := func(change func(*chat.Request)) chat.Request {
		r := openAIReq()
		change(&r)
		return r
	}
	// toolTurn is a fresh conversation in which a tool was called.
	toolTurn := func() []domain.Message {
		return []domain.Message{
			{Role: domain.RoleUser, Content: "weather in Paris?"},
			{Role: domain.RoleAssistant, ToolCalls: []domain.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
			{Role: domain.RoleTool, ToolCallID: "call_1", Content: "18C"},
		}
	}
	tests := []struct {
		name       string
		req        chat.Request
		wantPrefix string // "" = valid
	}{
		{name: "valid", req: openAIReq()},
		{name: "a conversation ending with a tool result", req: with(func(r *chat.Request) { r.Messages = toolTurn() })},
		{name: "a tool may answer with nothing", req: with(func(r *chat.Request) { r.Messages = toolTurn(); r.Messages[2].Content = "" })},
		{name: "no messages", req: with(func(r *chat.Request) { r.Messages = nil }), wantPrefix: "messages: is required"},
		{name: "a prompt", req: with(func(r *chat.Request) { r.Prompt = "hi" }), wantPrefix: "prompt: not used"},
		{name: "too many messages", req: with(func(r *chat.Request) { r.Messages = msgs(chat.DefaultLimits.MaxMessages+2, "a") }), wantPrefix: "messages: at most"},
		{name: "as many messages as the native API with its prompt", req: with(func(r *chat.Request) { r.Messages = msgs(chat.DefaultLimits.MaxMessages+1, "a") })},
		{name: "unknown role", req: with(func(r *chat.Request) { r.Messages[0].Role = "function" }), wantPrefix: "messages[0].role: must be system, user, assistant or tool"},
		{
			name:       "tool message without its call id",
			req:        with(func(r *chat.Request) { r.Messages = toolTurn(); r.Messages[2].ToolCallID = "" }),
			wantPrefix: "messages[2].tool_call_id: is required",
		},
		{
			name:       "tool call id on a user message",
			req:        with(func(r *chat.Request) { r.Messages[1].ToolCallID = "call_1" }),
			wantPrefix: "messages[1].tool_call_id: only tool messages",
		},
		{
			name:       "tool calls on a user message",
			req:        with(func(r *chat.Request) { r.Messages[1].ToolCalls = []domain.ToolCall{{ID: "a", Name: "b"}} }),
			wantPrefix: "messages[1].tool_calls: only assistant messages",
		},
		{
			name:       "tool call without a name",
			req:        with(func(r *chat.Request) { r.Messages = toolTurn(); r.Messages[1].ToolCalls[0].Name = "" }),
			wantPrefix: "messages[1].tool_calls[0].function.name: is required",
		},
		{
			name:       "control character in tool call arguments",
			req:        with(func(r *chat.Request) { r.Messages = toolTurn(); r.Messages[1].ToolCalls[0].Arguments = "\x00" }),
			wantPrefix: "messages[1].tool_calls[0].function.arguments: must not contain",
		},
		{name: "empty assistant message", req: with(func(r *chat.Request) { r.Messages[0].Role = domain.RoleAssistant; r.Messages[0].Content = "" }), wantPrefix: "messages[0].content: is required"},
		{name: "white-space user message", req: with(func(r *chat.Request) { r.Messages[0].Content = " \n\t " }), wantPrefix: "messages[0].content: is required"},
		{name: "white-space tool result", req: with(func(r *chat.Request) { r.Messages = toolTurn(); r.Messages[2].Content = " " })},
		{name: "top_p above 1", req: with(func(r *chat.Request) { r.TopP = floatp(1.5) }), wantPrefix: "top_p: "},
		{name: "top_p of 0", req: with(func(r *chat.Request) { r.TopP = floatp(0) })},
		{name: "penalties at their bounds", req: with(func(r *chat.Request) { r.PresencePenalty, r.FrequencyPenalty = floatp(-2), floatp(2) })},
		{name: "frequency penalty out of range", req: with(func(r *chat.Request) { r.FrequencyPenalty = floatp(-2.1) }), wantPrefix: "frequency_penalty: "},
		{name: "JSON mode", req: with(func(r *chat.Request) {
			r.ResponseFormat = &domain.ResponseFormat{Type: domain.ResponseFormatJSONObject}
		})},
		{name: "a JSON schema", req: with(func(r *chat.Request) {
			r.ResponseFormat = &domain.ResponseFormat{Type: domain.ResponseFormatJSONSchema, JSONSchema: json.RawMessage(`{"name":"x","schema":{}}`)}
		})},
		{name: "json_schema without its schema", req: with(func(r *chat.Request) {
			r.ResponseFormat = &domain.ResponseFormat{Type: domain.ResponseFormatJSONSchema}
		}), wantPrefix: "response_format.json_schema: is required"},
		{name: "a schema with JSON mode", req: with(func(r *chat.Request) {
			r.ResponseFormat = &domain.ResponseFormat{Type: domain.ResponseFormatJSONObject, JSONSchema: json.RawMessage(`{}`)}
		}), wantPrefix: "response_format.json_schema: only with"},
		{name: "unknown response format", req: with(func(r *chat.Request) { r.ResponseFormat = &domain.ResponseFormat{Type: "yaml"} }), wantPrefix: "response_format.type: "},
		{name: "five stop sequences", req: with(func(r *chat.Request) { r.Stop = []string{"a", "b", "c", "d", "e"} }), wantPrefix: "stop: at most 4"},
		{name: "empty stop sequence", req: with(func(r *chat.Request) { r.Stop = []string{"a", ""} }), wantPrefix: "stop[1]: must not be empty"},
		{name: "bad tool name", req: with(func(r *chat.Request) { r.Tools[0].Name = "get weather" }), wantPrefix: "tools[0].function.name: "},
		{name: "tool offered twice", req: with(func(r *chat.Request) { r.Tools = append(r.Tools, r.Tools[0]) }), wantPrefix: "tools[1].function.name: "},
		{name: "parameters not an object", req: with(func(r *chat.Request) { r.Tools[0].Parameters = json.RawMessage(`[1]`) }), wantPrefix: "tools[0].function.parameters: "},
		{name: "too many tools", req: with(func(r *chat.Request) {
			for i := range 128 {
				r.Tools = append(r.Tools, domain.Tool{Name: "t" + strings.Repeat("x", i%60) + string(rune('a'+i/60))})
			}
		}), wantPrefix: "tools: at most 128"},
		{name: "tool choice of an unknown function", req: with(func(r *chat.Request) {
			r.ToolChoice = &domain.ToolChoice{Mode: domain.ToolChoiceFunction, Function: "nope"}
		}), wantPrefix: "tool_choice: names no tool"},
		{name: "tool choice of an offered function", req: with(func(r *chat.Request) {
			r.ToolChoice = &domain.ToolChoice{Mode: domain.ToolChoiceFunction, Function: "get_weather"}
		})},
		{name: "required without tools", req: with(func(r *chat.Request) {
			r.Tools, r.ToolChoice = nil, &domain.ToolChoice{Mode: domain.ToolChoiceRequired}
		}), wantPrefix: "tool_choice: required needs tools"},
		{name: "unknown tool choice", req: with(func(r *chat.Request) { r.ToolChoice = &domain.ToolChoice{Mode: "any"} }), wantPrefix: "tool_choice: must be"},
		{name: "tool messages on the native API", req: chat.Request{Prompt: "hi", Messages: []domain.Message{{Role: domain.RoleTool, ToolCallID: "a", Content: "x"}}}, wantPrefix: "messages[0].role: must be user, assistant or system"},
		{name: "unknown API", req: with(func(r *chat.Request) { r.API = "grpc" }), wantPrefix: "api: unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			_, err := e.svc.Chat(context.Background(), e.user, tt.req, &toolSink{})
			if tt.wantPrefix == "" {
				require.NoError(t, err)
				assert.Equal(t, 1, e.quotaUsed(t))
				return
			}
			require.Error(t, err)
			assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
			assert.True(t, strings.HasPrefix(domain.ErrorMessage(err), tt.wantPrefix), "message %q, want prefix %q", domain.ErrorMessage(err), tt.wantPrefix)
			assert.Equal(t, 0, e.quotaUsed(t), "an invalid request costs nothing")
		})
	}
}

func TestOpenAIToolCalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	calls := []domain.ChatDelta{
		{ToolCalls: []domain.ToolCallDelta{{Index: 0, ID: "call_1", Name: "get_weather"}}},
		{ToolCalls: []domain.ToolCallDelta{{Index: 0, Arguments: `{"city":`}}},
		{ToolCalls: []domain.ToolCallDelta{{Index: 0, Arguments: `"Paris"}`}}},
	}
	e.groq.script(0, behaviour{deltas: calls, finish: "tool_calls"})
	req := openAIReq()
	req.TopP, req.Stop = floatp(0.5), []string{"END"}
	req.ToolChoice = &domain.ToolChoice{Mode: domain.ToolChoiceAuto}
	req.Seed, req.PresencePenalty, req.FrequencyPenalty = new(int64(3)), floatp(1), floatp(-1)
	req.ResponseFormat = &domain.ResponseFormat{Type: domain.ResponseFormatJSONObject}
	sink := &toolSink{}
	res, err := e.svc.Chat(context.Background(), e.user, req, sink)
	require.NoError(t, err)

	assert.Equal(t, "tool_calls", res.FinishReason)
	assert.Equal(t, []string{"begin", "tool:0:call_1:get_weather:", `tool:0:::{"city":`, `tool:0:::"Paris"}`}, sink.Events(),
		"a tool call is the first token: the answer begins with it")
	got := e.groq.Calls()
	require.Len(t, got, 1)
	up := got[0].Req
	assert.Equal(t, req.Messages, up.Messages, "the conversation goes upstream as sent, without a prompt turn")
	assert.Equal(t, req.Tools, up.Tools)
	assert.Equal(t, req.ToolChoice, up.ToolChoice)
	assert.Equal(t, req.TopP, up.TopP)
	assert.Equal(t, req.Stop, up.Stop)
	assert.Equal(t, req.Seed, up.Seed)
	assert.Equal(t, req.PresencePenalty, up.PresencePenalty)
	assert.Equal(t, req.FrequencyPenalty, up.FrequencyPenalty)
	assert.Equal(t, req.ResponseFormat, up.ResponseFormat)
	assert.Equal(t, domain.APIOpenAI, e.onlyRecord(t).API)
}

func TestToolsNeedAToolSink(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, _, err := e.chat(context.Background(), openAIReq())
	require.Error(t, err)
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
	assert.Contains(t, domain.ErrorMessage(err), "tools: not supported")
	assert.Empty(t, e.groq.Calls())
	assert.Equal(t, 0, e.quotaUsed(t))
}

func TestToolCallsWithoutAToolSinkAreDropped(t *testing.T) {
	t.Parallel()
	// A model that calls a tool it was not offered: a native client, which
	// cannot take tool calls, gets the text only.
	e := newEnv(t)
	e.groq.script(0, behaviour{deltas: []domain.ChatDelta{{ToolCalls: []domain.ToolCallDelta{{ID: "c", Name: "f"}}}}, tokens: []string{"hi"}, finish: "stop"})
	_, sink, err := e.chat(context.Background(), req(domain.TierFast, "hello"))
	require.NoError(t, err)
	assert.Equal(t, []string{"begin", "token:hi"}, sink.Events())
}
