package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/domain"
)

// acceptThenWork answers like a provider that accepted the request: 200,
// the event stream's headers and its opening role chunk (no content yet),
// then it keeps working until the client goes away. accepted is closed once
// that much was flushed.
func acceptThenWork(accepted chan struct{}) fakeupstream.Behaviour {
	return fakeupstream.Handler(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`+"\n\n")
		_ = http.NewResponseController(w).Flush()
		close(accepted)
		<-r.Context().Done()
	})
}

// quotaUsedAfterClose stops the gateway's HTTP server, which waits for
// every request still running (so that a late refund cannot be missed),
// and reads ada's quota count from the store.
func (c chatEnv) quotaUsedAfterClose(t *testing.T) int {
	t.Helper()
	c.srv.Close()
	ctx := context.Background()
	u, err := c.app.Database.UserByEmail(ctx, "ada@example.com")
	require.NoError(t, err)
	used, err := c.app.Database.QuotaUsed(ctx, u.ID, domain.QuotaDay(c.clock.Now()))
	require.NoError(t, err)
	return used
}

// TestAttackWalkAwayAfterTheProviderAccepted performs the attack of issue
// 19: a client that leaves once the provider is at work (curl --max-time on
// a whole answer, a stream dropped before its first token) used to get its
// request back. It pays now; only requests no provider accepted are
// refunded.
func TestAttackWalkAwayAfterTheProviderAccepted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body map[string]any
		// answer is what groq does; accepted, when it has one, is closed
		// once it accepted.
		answer func(accepted chan struct{}) fakeupstream.Behaviour
	}{
		{
			name:   "whole answer, client gone while the provider works",
			body:   map[string]any{"prompt": "Hi", "stream": false},
			answer: acceptThenWork,
		},
		{
			name: "whole answer, client gone after tokens were produced",
			body: map[string]any{"prompt": "Hi", "stream": false},
			answer: func(accepted chan struct{}) fakeupstream.Behaviour {
				return fakeupstream.Handler(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/event-stream")
					w.WriteHeader(http.StatusOK)
					_, _ = io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{"content":"half an answer"},"finish_reason":null}]}`+"\n\n")
					_ = http.NewResponseController(w).Flush()
					close(accepted)
					<-r.Context().Done()
				})
			},
		},
		{
			name:   "stream dropped before the first token",
			body:   map[string]any{"prompt": "Hi"},
			answer: acceptThenWork,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newChatEnv(t, map[string]string{"PROVIDER_FIRST_TOKEN_TIMEOUT_SECONDS": "30", "REQUEST_TIMEOUT_SECONDS": "60"})
			accepted := make(chan struct{})
			c.up.groq.Default(tt.answer(accepted))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				raw, _ := json.Marshal(tt.body)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.srv.URL+"/api/v1/chat", strings.NewReader(string(raw)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+c.token)
				res, err := http.DefaultClient.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				done <- err
			}()
			select {
			case <-accepted:
			case <-time.After(10 * time.Second):
				t.Fatal("the provider was never asked")
			}
			// Give the gateway a moment to read the response headers the
			// provider flushed: from then on it has accepted the request.
			time.Sleep(300 * time.Millisecond)
			cancel() // the client walks away
			require.Error(t, <-done)
			assert.Equal(t, 1, c.quotaUsedAfterClose(t), "the provider worked: the request is not refunded")
		})
	}
}

// TestRefundWhenNoProviderAccepted: requests that no provider accepted are
// given back, including one whose client left while the provider had not
// answered at all.
func TestRefundWhenNoProviderAccepted(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now

	tests := []struct {
		name  string
		extra map[string]string
		setup func(c chatEnv)
		// leave cancels the client once the provider was asked.
		leave bool
	}{
		{
			name: "every provider refuses with 503 before any work",
			setup: func(c chatEnv) {
				for _, u := range []*fakeupstream.Server{c.up.groq, c.up.openrouter, c.up.huggingface} {
					u.Default(fakeupstream.Status(http.StatusServiceUnavailable, `{"error":{"message":"overloaded"}}`))
				}
			},
		},
		{
			name: "rate limited or unauthorized everywhere",
			setup: func(c chatEnv) {
				c.up.groq.Default(fakeupstream.RateLimited(time.Minute))
				c.up.openrouter.Default(fakeupstream.Unauthorized())
				c.up.huggingface.Default(fakeupstream.RateLimited(time.Minute))
			},
		},
		{
			name:  "no provider reachable",
			extra: map[string]string{"GROQ_BASE_URL": dead, "OPENROUTER_BASE_URL": dead, "HUGGINGFACE_BASE_URL": dead},
		},
		{
			name: "client gone while the provider never answered",
			setup: func(c chatEnv) {
				c.up.groq.Default(fakeupstream.Hang())
			},
			leave: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			extra := map[string]string{"PROVIDER_FIRST_TOKEN_TIMEOUT_SECONDS": "30", "REQUEST_TIMEOUT_SECONDS": "60"}
			for k, v := range tt.extra {
				extra[k] = v
			}
			c := newChatEnv(t, extra)
			if tt.setup != nil {
				tt.setup(c)
			}
			for _, stream := range []bool{false, true} {
				ctx, cancel := context.WithCancel(context.Background())
				if tt.leave {
					go func() {
						c.up.groq.WaitRequests(t, 1, 5*time.Second)
						cancel()
					}()
				}
				raw, _ := json.Marshal(map[string]any{"prompt": "Hi", "model": "balanced", "stream": stream})
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.srv.URL+"/api/v1/chat", strings.NewReader(string(raw)))
				require.NoError(t, err)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+c.token)
				res, err := http.DefaultClient.Do(req)
				if tt.leave {
					require.Error(t, err)
					cancel()
					break
				}
				require.NoError(t, err)
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				cancel()
				assert.Contains(t, []int{http.StatusServiceUnavailable, http.StatusTooManyRequests}, res.StatusCode)
			}
			assert.Equal(t, 0, c.quotaUsedAfterClose(t), "no provider accepted: refunded")
		})
	}
}
