package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/postgres/pgtest"
)

// TestServeChatRequestLogSurvivesShutdown chats through the real binary
// (the development mock provider answers, as on a fresh machine), stops it
// with SIGTERM while a stream is in flight, and checks that the stream
// completes and every request left its row in the request log.
func TestServeChatRequestLogSurvivesShutdown(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewURL(t)
	s := startServer(t, "", serverVars(dbURL).with(vars{"MOCK_PROVIDER_DELAY_MS": "50"}))
	s.register(t, "ada@example.com", "correct horse")
	token := s.login(t, "ada@example.com", "correct horse").AccessToken

	for range 3 {
		r := s.do(t, http.MethodPost, "/api/v1/chat", `{"prompt":"Hello AI!","model":"smart","stream":false}`, bearer(token)...)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		assert.Contains(t, string(r.body), `"provider":"mock"`)
	}

	req, err := http.NewRequest(http.MethodPost, s.url+"/api/v1/chat", strings.NewReader(`{"prompt":"Tell me a story"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := httpClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	br := bufio.NewReader(res.Body)
	for { // wait for the first token, then stop the server mid-stream
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		if strings.HasPrefix(line, `data: "`) {
			break
		}
	}
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	assert.Contains(t, string(rest), "event: done\n", "the in-flight stream finishes during the graceful shutdown")
	require.Equal(t, 0, s.wait(t), "output:\n%s", s.output())

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var rows, success, mock int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE outcome = 'success'),
		count(*) FILTER (WHERE provider = 'mock') FROM request_log`).Scan(&rows, &success, &mock))
	assert.Equal(t, 4, rows, "one row per chat request, none lost at shutdown")
	assert.Equal(t, 4, success)
	assert.Equal(t, 4, mock)
}
