package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

	t.Run("errors as Echo's serializer has them", func(t *testing.T) {
		t.Parallel()
		c := echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"prompt":1}`)), httptest.NewRecorder())
		var v struct{ Prompt string }
		err := strictJSON{}.Deserialize(c, &v)
		var he *echo.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, http.StatusBadRequest, he.Code)
		var ute *json.UnmarshalTypeError
		assert.ErrorAs(t, he.Internal, &ute)
		assert.Contains(t, he.Message, "Unmarshal type error: expected=string, got=number")
	})
}
