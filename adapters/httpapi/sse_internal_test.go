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

// deadlineWriter records the write deadlines it is given.
type deadlineWriter struct {
	recordingWriter
	deadlines []time.Time
}

func (w *deadlineWriter) SetWriteDeadline(d time.Time) error {
	w.deadlines = append(w.deadlines, d)
	return nil
}

// TestSSESinkWriteDeadline: every write runs under a deadline at least
// half of sseWriteTimeout away, but the deadline is not moved per token.
func TestSSESinkWriteDeadline(t *testing.T) {
	t.Parallel()
	w := &deadlineWriter{recordingWriter: recordingWriter{header: http.Header{}}}
	s := newSSESink(w, "r1", time.Hour)
	defer s.close()
	start := time.Now()
	require.NoError(t, s.Begin(benchMeta))
	for _, tok := range benchTokens {
		require.NoError(t, s.Token(tok))
	}
	require.Len(t, w.deadlines, 1, "one deadline for a stream's first half-timeout, not one per token")
	assert.False(t, w.deadlines[0].Before(start.Add(sseWriteTimeout)), "the deadline is a whole timeout away")

	// Once half of it has passed, the next write moves it.
	s.mu.Lock()
	s.deadline = time.Now().Add(sseWriteTimeout/2 - time.Second)
	s.mu.Unlock()
	before := time.Now()
	require.NoError(t, s.Token("next"))
	require.Len(t, w.deadlines, 2)
	assert.False(t, w.deadlines[1].Before(before.Add(sseWriteTimeout)))
	require.NoError(t, s.Token("and"))
	assert.Len(t, w.deadlines, 2)
}
