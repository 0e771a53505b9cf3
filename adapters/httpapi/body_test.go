package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
)

// TestStrictJSON: a request body is one JSON value and nothing after it but
// white space; otherwise it decodes as with Echo's default serializer.
func TestStrictJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		trailing bool
	}{
		{"one value", `{"prompt":"hi"}`, false},
		{"white space after it", "{\"prompt\":\"hi\"} \r\n\t", false},
		{"a second value", `{"prompt":"hi"} {"x":1}`, true},
		{"garbage", `{"prompt":"hi"}garbage`, true},
		{"a stray bracket", `{"prompt":"hi"}]`, true},
		{"a second value on the next line", "{\"prompt\":\"hi\"}\n{}", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body)), httptest.NewRecorder())
			var v struct{ Prompt string }
			err := strictJSON{}.Deserialize(c, &v)
			assert.Equal(t, "hi", v.Prompt, "the value is decoded")
			if tt.trailing {
				assert.ErrorIs(t, err, errTrailingData)
				return
			}
			assert.NoError(t, err)
		})
	}

	t.Run("a read that fails keeps its error", func(t *testing.T) {
		t.Parallel()
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"prompt":"hi"}`))
		rec := httptest.NewRecorder()
		req.Body = http.MaxBytesReader(rec, req.Body, 5)
		var v struct{ Prompt string }
		var tooLarge *http.MaxBytesError
		assert.ErrorAs(t, strictJSON{}.Deserialize(echo.New().NewContext(req, rec), &v), &tooLarge)
	})
}

// decodeTarget has the shapes of the request bodies: strings, numbers,
// booleans, arrays of objects, maps, pointers.
type decodeTarget struct {
	Prompt      string  `json:"prompt"`
	Stream      *bool   `json:"stream"`
	Temperature float64 `json:"temperature"`
	MaxTokens   *int    `json:"max_tokens"`
	Messages    []struct {
		Role      string `json:"role"`
		Content   string `json:"content"`
		ToolCalls []struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		} `json:"tool_calls"`
	} `json:"messages"`
	Meta map[string]int `json:"meta"`
}

// TestDecodeErrorsInWords: a body that does not decode is refused in
// words: the member (with array indexes) and the type it must have, or the
// line and column of bad syntax. Each is an invalid request naming its
// member for OpenAI's param.
func TestDecodeErrorsInWords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, message, field string
	}{
		{"number for a string", `{"prompt":1}`, "prompt: must be a string", "prompt"},
		{"array for a string", `{"prompt":["x"]}`, "prompt: must be a string", "prompt"},
		{"object for a string", `{"prompt":{"$gt":""}}`, "prompt: must be a string", "prompt"},
		{"key in another case", `{"PROMPT":true}`, "PROMPT: must be a string", "PROMPT"},
		{"string for a boolean", `{"prompt":"x","stream":"yes"}`, "stream: must be true or false", "stream"},
		{"string for a number", `{"temperature":"hot"}`, "temperature: must be a number", "temperature"},
		{"number out of range", `{"temperature":1e400}`, "temperature: is out of range", "temperature"},
		{"fraction for an integer", `{"max_tokens":1.5}`, "max_tokens: must be a whole number", "max_tokens"},
		{"integer out of range", `{"max_tokens":99999999999999999999}`, "max_tokens: is out of range", "max_tokens"},
		{"string for an integer", `{"max_tokens":"64"}`, "max_tokens: must be an integer", "max_tokens"},
		{"object for an array", `{"messages":{}}`, "messages: must be an array", "messages"},
		{"nested, with its index", `{"messages":[{"role":"user","content":"a"},{"role":"user","content":5}]}`, "messages[1].content: must be a string", "messages[1].content"},
		{"deeper", `{"messages":[{"tool_calls":[{},{"function":{"name":7}}]}]}`, "messages[0].tool_calls[1].function.name: must be a string", "messages[0].tool_calls[1].function.name"},
		{"after nested values", `{"messages":[{"role":"a","tool_calls":[{"function":{"name":"f"}}]}],"meta":{"a":1,"b":"x"}}`, "meta.b: must be an integer", "meta.b"},
		{"the same key twice", `{"prompt":"a","prompt":2}`, "prompt: must be a string", "prompt"},
		{"white space around", " \n {\n \"prompt\" : [ ] }", "prompt: must be a string", "prompt"},
		{"an array for the body", `[{"prompt":"hi"}]`, "Request body must be an object", ""},
		{"a string for the body", `"hi"`, "Request body must be an object", ""},
		{"a comma too many", `{"prompt":"x",}`, "Invalid JSON at line 1, column 15: invalid character '}' looking for beginning of object key string", ""},
		{"a missing colon", `{"prompt" "x"}`, "Invalid JSON at line 1, column 11: invalid character '\"' after object key", ""},
		{"on a later line, columns in characters", "{\n  \"prompt\": \"é\",\n  oops}", "Invalid JSON at line 3, column 3: invalid character 'o' looking for beginning of object key string", ""},
		{"a raw line break in a string", "{\"prompt\":\"a\nb\"}", "Invalid JSON at line 1, column 13: invalid character '\\n' in string literal", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body)), httptest.NewRecorder())
			var v decodeTarget
			err := strictJSON{}.Deserialize(c, &v)
			require.Error(t, err)
			assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
			assert.Equal(t, tt.message, domain.ErrorMessage(err))
			assert.Equal(t, tt.field, domain.ErrorField(err))
		})
	}

	t.Run("truncated and empty bodies keep their errors", func(t *testing.T) {
		t.Parallel()
		for body, want := range map[string]error{`{"prompt":"hi`: io.ErrUnexpectedEOF, "": io.EOF, "  ": io.EOF} {
			c := echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)), httptest.NewRecorder())
			var v decodeTarget
			assert.ErrorIs(t, strictJSON{}.Deserialize(c, &v), want, "%q", body)
		}
	})
}
