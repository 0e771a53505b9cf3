package openaicompat

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chunkView is what the stream reads from a chunk.
type chunkView struct {
	Choice    bool
	Content   *string
	ToolCalls []toolCallDelta
	Finish    *string
	Usage     *usage
	Error     string
}

func view(ch chunk) chunkView {
	v := chunkView{Usage: ch.Usage, Error: string(ch.Error)}
	if len(ch.Choices) > 0 {
		v.Choice = true
		v.Content = ch.Choices[0].Delta.Content
		v.ToolCalls = ch.Choices[0].Delta.ToolCalls
		v.Finish = ch.Choices[0].FinishReason
	}
	return v
}

// chunkSeeds are chunks as upstreams send them, and the awkward cases the
// fast path must hand over to encoding/json.
var chunkSeeds = []string{
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1733011200,"model":"llama-3.1-8b-instant","system_fingerprint":"fp_9cb648b966","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"x_groq":{"id":"req_01"}}`,
	`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":" caf\u00e9 \"quoted\" 東京"},"logprobs":null,"finish_reason":null}]}`,
	`{"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"x_groq":{"usage":{"queue_time":0.017,"prompt_tokens":42}}}`,
	`{"choices":[],"usage":{"queue_time":0.017,"prompt_tokens":42,"prompt_time":4e-3,"completion_tokens":47,"total_tokens":89}}`,
	`{"error":{"message":"Rate limit reached","type":"tokens","code":"rate_limit_exceeded"}}`,
	`{"error":null,"choices":null,"usage":null}`,
	` { "choices" : [ { "delta" : { "content" : "spaced" } , "finish_reason" : null } ] } `,
	`{"Choices":[{"delta":{"content":"folded key"}}]}`,
	`{"choices":[{"delta":{"content":"a"}},{"delta":{"content":"b"}}]}`,
	`{"choices":[{"delta":{"content":"a","content":"b"}}]}`,
	`{"choices":[{"delta":{"content":"a"}}],"choices":[{"delta":{"content":"b"}}]}`,
	`{"usage":{"prompt_tokens":1.5}}`,
	`{"usage":{"prompt_tokens":-3,"completion_tokens":1e2}}`,
	`{"usage":{"prompt_tokens":99999999999999999999}}`,
	`{"choices":[{"delta":{"content":"bad \xff byte"}}]}`,
	`{"choices":[{"delta":{"content":"\ud83d\ude00 and \ud800 lone"}}]}`,
	`{"choices":[{"delta":{"content":5}}]}`,
	`{"choices":[{"delta":null,"finish_reason":"length"}]}`,
	`{"choices":[{"delta":{"content":null}}]}`,
	`{"a":[1,-0.5e+3,true,false,null,{"b":"\/\b\f\n\r\t\u0041"}],"choices":[]}`,
	`{"a":01}`, `{"a":1.}`, `{"a":"\x"}`, `{"a":tru}`, `{"a":"ctl` + "\x01" + `"}`,
	`{"choices":[]} trailing`, `[]`, `null`, `{`, `{"choices":[{"delta":{"content":"x"}}]`, ``,
	// Tool calls: OpenAI's opening piece and a later one, Groq's whole call
	// in one piece, content beside a call, and what encoding/json decides.
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1733011200,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null},"logprobs":null,"finish_reason":null}]}`,
	`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"loc"}}]},"logprobs":null,"finish_reason":null}]}`,
	`{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"},"index":0},{"id":"call_2","type":"function","function":{"name":"g","arguments":"{}"},"index":1}]},"finish_reason":null}]}`,
	`{"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}`,
	`{"choices":[{"delta":{"content":"Let me check.","tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":""}}]}}]}`,
	`{"choices":[{"delta":{"content":"x","tool_calls":null}}]}`,
	`{"choices":[{"delta":{"tool_calls":[]}}]}`,
	`{"choices":[{"delta":{"Tool_Calls":[{"index":0,"id":"c"}]}}]}`,
	`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"a"}],"tool_calls":null}}]}`,
	`{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"f","arguments":{"a": [1, "b"], "c": null}}}]}}]}`,
	`{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":{"k":"bad ` + "\xff" + ` byte"}}}]}}]}`,
	`{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":null,"name":null},"id":null,"index":null}]}}]}`,
	`{"choices":[{"delta":{"tool_calls":[{"index":-1,"function":{"arguments":5}}]}}]}`,
	`{"choices":[{"delta":{"tool_calls":{"index":0}}}]}`,
	`{"choices":[{"delta":{"tool_calls":[{"index":"0"}]}}]}`,
	`{"choices":[{"delta":{"tool_calls":[{"index":0.5}]}}]}`,
}

func TestDecodeChunkMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, data := range chunkSeeds {
		t.Run(data, func(t *testing.T) {
			checkChunk(t, data)
		})
	}
}

func TestDecodeChunkFastPathTakesUpstreamChunks(t *testing.T) {
	t.Parallel()
	// The chunks of a real answer never need encoding/json.
	for _, ev := range strings.Split(groqStream(), "\n\n") {
		data := strings.TrimPrefix(ev, "data: ")
		if data == "" || data == "[DONE]" {
			continue
		}
		_, ok := fastChunk(data)
		assert.True(t, ok, "fast path refused %s", data)
	}
	ch, ok := fastChunk(chunkSeeds[1])
	require.True(t, ok)
	assert.Equal(t, ` café "quoted" 東京`, *ch.Choices[0].Delta.Content)
}

func TestDecodeChunkToolCalls(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		data     string
		wantFast bool
		want     []toolCallDelta
	}{
		{name: "null is read by the fast path", data: `{"choices":[{"delta":{"content":"x","tool_calls":null}}]}`, wantFast: true},
		{
			name: "a piece goes to encoding/json",
			data: `{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a"}}]}}]}`,
			want: []toolCallDelta{{Index: 1, ID: "call_1", Function: toolFunctionDelta{Name: "f", Arguments: `{"a`}}},
		},
		{name: "an empty array goes to encoding/json", data: `{"choices":[{"delta":{"tool_calls":[]}}]}`, want: []toolCallDelta{}},
		{
			name: "a key that folds to tool_calls goes to encoding/json",
			data: `{"choices":[{"delta":{"Tool_Calls":[{"function":{"arguments":"x"}}]}}]}`,
			want: []toolCallDelta{{Function: toolFunctionDelta{Arguments: "x"}}},
		},
		{
			name: "object arguments are kept as compact JSON",
			data: `{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":{ "a" : [1, "b"] }}}]}}]}`,
			want: []toolCallDelta{{Function: toolFunctionDelta{Arguments: `{"a":[1,"b"]}`}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, fast := fastChunk(tt.data)
			assert.Equal(t, tt.wantFast, fast)
			ch, err := decodeChunk(tt.data)
			require.NoError(t, err)
			require.Len(t, ch.Choices, 1)
			assert.Equal(t, tt.want, ch.Choices[0].Delta.ToolCalls)
		})
	}
}

// checkChunk asserts that decodeChunk agrees with encoding/json on data.
func checkChunk(t *testing.T, data string) {
	t.Helper()
	var want chunk
	wantErr := json.Unmarshal([]byte(data), &want)
	got, err := decodeChunk(data)
	if wantErr != nil {
		require.Error(t, err, "encoding/json refuses %q", data)
		return
	}
	require.NoError(t, err, "encoding/json accepts %q", data)
	assert.Equal(t, view(want), view(got), "%q", data)
}

func FuzzDecodeChunk(f *testing.F) {
	for _, s := range chunkSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		checkChunk(t, data)
	})
}
