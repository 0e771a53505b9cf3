package httpapi

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordingWriter is a flushable ResponseWriter that keeps what it got.
type recordingWriter struct {
	mu     sync.Mutex
	header http.Header
	b      strings.Builder
}

func (w *recordingWriter) Header() http.Header { return w.header }
func (w *recordingWriter) WriteHeader(int)     {}
func (w *recordingWriter) Flush()              {}
func (w *recordingWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(b)
}
func (w *recordingWriter) SetWriteDeadline(time.Time) error { return nil }

func (w *recordingWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestSSESinkKeepAlive(t *testing.T) {
	t.Parallel()
	const keepAlive = 30 * time.Millisecond
	w := &recordingWriter{header: http.Header{}}
	s := newSSESink(w, "r1", keepAlive)
	require.NoError(t, s.Begin(benchMeta))

	// Silence brings comments, again and again.
	require.Eventually(t, func() bool { return strings.Count(w.String(), ": keep-alive\n\n") >= 2 },
		5*time.Second, time.Millisecond)

	s.close()
	after := w.String()
	time.Sleep(3 * keepAlive)
	assert.Equal(t, after, w.String(), "nothing is written after close")
}

func TestSSESinkNoKeepAliveWhileTokensFlow(t *testing.T) {
	t.Parallel()
	w := &recordingWriter{header: http.Header{}}
	s := newSSESink(w, "r1", 500*time.Millisecond)
	require.NoError(t, s.Begin(benchMeta))
	defer s.close()
	// Each token restarts the silence, so 300ms of tokens 10ms apart is
	// never 500ms of silence.
	for range 30 {
		require.NoError(t, s.Token("x"))
		time.Sleep(10 * time.Millisecond)
	}
	assert.NotContains(t, w.String(), ": keep-alive")
}
