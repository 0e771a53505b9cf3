package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenAISinkTokenEncoding checks the token events that the sink
// assembles from a pre-encoded head against the chunk encoded whole.
func TestOpenAISinkTokenEncoding(t *testing.T) {
	t.Parallel()
	tokens := []string{"Hi", ` "quoted" \ back`, "<b>&amp;</b>", "café 東京 🎉", "line\nbreak\ttab", "bad \xff utf-8", "\u2028", ""}
	for _, tok := range tokens {
		fast := httptest.NewRecorder()
		s := &openAISink{sseSink: newSSESink(fast, "req-1", 0), id: `chatcmpl-"odd"<id>`, created: 1764115200, model: "fast"}
		require.NoError(t, s.Token(tok))
		whole := httptest.NewRecorder()
		w := &openAISink{sseSink: newSSESink(whole, "req-1", 0), id: s.id, created: s.created, model: s.model}
		text := tok
		require.NoError(t, w.chunkLocked(openAIDelta{Content: &text}, nil))
		assert.Equal(t, whole.Body.String(), fast.Body.String(), "token %q", tok)
		assert.True(t, strings.HasSuffix(fast.Body.String(), "\n\n"))
		assert.Equal(t, http.StatusOK, fast.Code)
	}
}
