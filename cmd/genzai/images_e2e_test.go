package main

import (
	"context"
	"encoding/json"
	"net/http"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
)

// TestServeImagesFallBack generates an image through the real binary: the
// fake Hugging Face answers an HTML page where the image was due, the fake
// OpenRouter draws it; the user pays IMAGE_QUOTA_COST units once, and the
// request log keeps the request as an image.
func TestServeImagesFallBack(t *testing.T) {
	t.Parallel()
	hf, or := fakeupstream.New(t), fakeupstream.New(t)
	hf.Default(fakeupstream.HTMLPage())
	dbURL := pgtest.NewURL(t)
	s := startServer(t, "", serverVars(dbURL).with(vars{
		"ENABLE_IMAGE_GENERATION": "true", "IMAGE_QUOTA_COST": "4", "PROVIDER_CHECK_INTERVAL_SECONDS": "0",
		"HUGGINGFACE_API_KEY": "hk-0", "HUGGINGFACE_BASE_URL": hf.URL(), "HUGGINGFACE_INFERENCE_URL": hf.URL() + "/hf-inference",
		"OPENROUTER_API_KEYS": "ok-0", "OPENROUTER_BASE_URL": or.URL(),
	}))
	s.register(t, "ada@example.com", "correct horse")
	token := s.login(t, "ada@example.com", "correct horse").AccessToken

	r := s.do(t, http.MethodPost, "/api/v1/images", `{"prompt":"a red square","size":"512x512"}`, bearer(token)...)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var body struct {
		Images []struct {
			B64JSON  []byte `json:"b64_json"`
			MIMEType string `json:"mime_type"`
		} `json:"images"`
		Provider string `json:"provider"`
	}
	require.NoError(t, json.Unmarshal(r.body, &body))
	require.Len(t, body.Images, 1)
	assert.Equal(t, fakeupstream.PNG(), body.Images[0].B64JSON)
	assert.Equal(t, "openrouter", body.Provider)
	assert.Len(t, hf.Requests(), 1)

	q := s.do(t, http.MethodGet, "/api/v1/quota", "", bearer(token)...)
	assert.Contains(t, string(q.body), `"used":4`)

	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, s.wait(t), "output:\n%s", s.output())
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var kind, provider string
	require.NoError(t, conn.QueryRow(ctx, `SELECT kind, provider FROM request_log`).Scan(&kind, &provider))
	assert.Equal(t, "image", kind)
	assert.Equal(t, "openrouter", provider)
}
