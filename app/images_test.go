package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
)

// imageVars turn image generation on over the fake upstreams.
func imageVars(up upstreams, extra map[string]string) map[string]string {
	v := map[string]string{
		"ENABLE_IMAGE_GENERATION":   "true",
		"HUGGINGFACE_INFERENCE_URL": up.huggingface.URL() + "/hf-inference",
		"USER_DAILY_QUOTA":          "12",
	}
	for k, val := range extra {
		v[k] = val
	}
	return v
}

func newImageEnv(t *testing.T, extra map[string]string) chatEnv {
	t.Helper()
	up := newUpstreams(t)
	e := newEnv(t, up.vars(imageVars(up, extra)))
	e.register("ada@example.com", pw)
	return chatEnv{env: e, up: up, token: e.login("ada@example.com", pw)}
}

// decodedImage is the first image of a native answer, decoded.
func decodedImage(t *testing.T, body map[string]any) (data []byte, mimeType string) {
	t.Helper()
	imgs := body["images"].([]any)
	require.NotEmpty(t, imgs)
	img := imgs[0].(map[string]any)
	data, err := base64.StdEncoding.DecodeString(img["b64_json"].(string))
	require.NoError(t, err)
	return data, img["mime_type"].(string)
}

func TestImagesFromHuggingFace(t *testing.T) {
	t.Parallel()
	c := newImageEnv(t, nil)
	res := c.do(http.MethodPost, "/api/v1/images", map[string]any{"prompt": "a red square", "size": "512x512"}, bearer(c.token))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	body := res.json(t)
	data, mt := decodedImage(t, body)
	assert.Equal(t, fakeupstream.PNG(), data)
	assert.Equal(t, "image/png", mt)
	assert.Equal(t, "huggingface", body["provider"])
	assert.Equal(t, "black-forest-labs/FLUX.1-schnell", body["model"])
	assert.NotEmpty(t, body["request_id"])
	assert.Equal(t, float64(5), c.quotaUsed(c.token), "IMAGE_QUOTA_COST units")

	reqs := c.up.huggingface.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/hf-inference/models/black-forest-labs/FLUX.1-schnell", reqs[0].Path)
	assert.Equal(t, "a red square", reqs[0].Inputs)
	assert.JSONEq(t, `{"width":512,"height":512}`, string(reqs[0].Parameters))
	assert.Empty(t, c.up.openrouter.Requests())
}

func TestImagesFromOpenRouter(t *testing.T) {
	t.Parallel()
	c := newImageEnv(t, map[string]string{"IMAGE_PROVIDERS": "openrouter", "OPENROUTER_IMAGE_MODEL": "img/model", "IMAGE_QUOTA_COST": "3"})
	jpeg := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F'}
	c.up.openrouter.Default(fakeupstream.Image("image/jpeg", jpeg))
	res := c.do(http.MethodPost, "/api/v1/images", map[string]any{"prompt": "a fox"}, bearer(c.token))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	body := res.json(t)
	data, mt := decodedImage(t, body)
	assert.Equal(t, jpeg, data)
	assert.Equal(t, "image/jpeg", mt)
	assert.Equal(t, "openrouter", body["provider"])
	assert.Equal(t, "img/model", body["model"])
	assert.Equal(t, float64(3), c.quotaUsed(c.token))
	reqs := c.up.openrouter.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, []string{"image", "text"}, reqs[0].Modalities)
	assert.Empty(t, c.up.huggingface.Requests())
}

func TestImagesFallBackFromHuggingFace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		hf   fakeupstream.Behaviour
	}{
		{"429 with Retry-After", fakeupstream.HFError(http.StatusTooManyRequests, "Rate limit reached").WithHeader("Retry-After", "30")},
		{"HTML where an image was due", fakeupstream.HTMLPage()},
		{"JSON claimed as an image", fakeupstream.Image("image/png", []byte(`{"images":[]}`))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newImageEnv(t, nil)
			c.up.huggingface.Default(tt.hf)
			res := c.do(http.MethodPost, "/api/v1/images", map[string]any{"prompt": "a cat"}, bearer(c.token))
			require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			assert.Equal(t, "openrouter", res.json(t)["provider"])
			assert.Equal(t, float64(5), c.quotaUsed(c.token))
			assert.Len(t, c.up.huggingface.Requests(), 1)
			assert.Len(t, c.up.openrouter.Requests(), 1)
		})
	}
}

func TestImagesRefundedWhenNoProviderDelivered(t *testing.T) {
	t.Parallel()
	c := newImageEnv(t, nil)
	c.up.huggingface.Default(fakeupstream.HFError(http.StatusInternalServerError, "CUDA out of memory"))
	c.up.openrouter.Default(fakeupstream.HTMLPage())
	res := c.do(http.MethodPost, "/api/v1/images", map[string]any{"prompt": "a cat"}, bearer(c.token))
	require.Equal(t, http.StatusServiceUnavailable, res.status, "%s", res.body)
	body := res.json(t)
	assert.Equal(t, "providers_unavailable", body["code"])
	assert.Len(t, body["attempts"], 2, "each provider once: neither failure is the key's")
	assert.Equal(t, float64(0), c.quotaUsed(c.token), "refunded")
}

func TestImagesQuota(t *testing.T) {
	t.Parallel()
	c := newImageEnv(t, nil)
	for range 2 {
		res := c.do(http.MethodPost, "/api/v1/images", map[string]any{"prompt": "a cat"}, bearer(c.token))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	}
	res := c.do(http.MethodPost, "/api/v1/images", map[string]any{"prompt": "a cat"}, bearer(c.token))
	require.Equal(t, http.StatusTooManyRequests, res.status, "%s", res.body)
	body := res.json(t)
	assert.Equal(t, "quota_exceeded", body["code"])
	assert.NotEmpty(t, res.header.Get("Retry-After"))
	assert.Equal(t, float64(10), c.quotaUsed(c.token), "2 units left: the third image took none")
	assert.Len(t, c.up.huggingface.Requests(), 2)
}

func TestImagesDisabled(t *testing.T) {
	t.Parallel()
	c := newChatEnv(t, nil)
	for _, path := range []string{"/api/v1/images", "/v1/images/generations"} {
		res := c.do(http.MethodPost, path, map[string]any{"prompt": "a cat"}, bearer(c.token))
		require.Equal(t, http.StatusNotFound, res.status, "%s", res.body)
		assert.Contains(t, string(res.body), "ENABLE_IMAGE_GENERATION=true", path)
	}
	models := c.do(http.MethodGet, "/api/v1/models", nil, bearer(c.token)).json(t)
	assert.Equal(t, map[string]any{"enabled": false, "quota_cost": float64(5), "providers": []any{}}, models["images"])
	assert.Empty(t, c.up.huggingface.Requests())
}

func TestImagesModelsSayTheyAreOn(t *testing.T) {
	t.Parallel()
	c := newImageEnv(t, map[string]string{"IMAGE_QUOTA_COST": "7"})
	models := c.do(http.MethodGet, "/api/v1/models", nil, bearer(c.token)).json(t)
	assert.Equal(t, map[string]any{"enabled": true, "quota_cost": float64(7), "providers": []any{"huggingface", "openrouter"}}, models["images"])
}

func TestImagesInTheOpenAIModelList(t *testing.T) {
	t.Parallel()
	type model struct{ id, kind, ownedBy string }
	list := func(t *testing.T, c chatEnv) []model {
		t.Helper()
		res := c.do(http.MethodGet, "/v1/models", nil, bearer(c.token))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var out []model
		for _, m := range res.json(t)["data"].([]any) {
			m := m.(map[string]any)
			out = append(out, model{m["id"].(string), m["kind"].(string), m["owned_by"].(string)})
		}
		return out
	}
	tiers := []model{{"fast", "chat", "genzai"}, {"balanced", "chat", "genzai"}, {"smart", "chat", "genzai"}}

	on := newImageEnv(t, map[string]string{"HUGGINGFACE_IMAGE_MODEL": "black-forest-labs/FLUX.1-schnell", "OPENROUTER_IMAGE_MODEL": "google/gemini-2.5-flash-image"})
	assert.Equal(t, append(tiers,
		model{"huggingface/black-forest-labs/FLUX.1-schnell", "image", "huggingface"},
		model{"openrouter/google/gemini-2.5-flash-image", "image", "openrouter"},
	), list(t, on), "the image chain's models follow the tiers, in fallback order")

	status := on.do(http.MethodGet, "/api/v1/status", nil, nil)
	require.Equal(t, http.StatusOK, status.status, "%s", status.body)
	var providers, serves []any
	require.NoError(t, json.Unmarshal(status.body, &providers))
	for _, p := range providers {
		serves = append(serves, p.(map[string]any)["serves"])
	}
	assert.Equal(t, []any{[]any{"chat"}, []any{"chat", "image"}, []any{"chat", "image"}}, serves,
		"groq, openrouter and huggingface: the status says who serves images")

	off := newChatEnv(t, nil)
	assert.Equal(t, tiers, list(t, off), "no image model while image generation is off")
}

// TestImagesShareTheRequestSlots: an image request takes one of the user's
// MAX_CONCURRENT_REQUESTS_PER_USER slots, the same as chats: with the only
// slot held by an open chat stream it is refused with 429 before it costs
// quota or reaches a provider, and admitted once the stream ends.
func TestImagesShareTheRequestSlots(t *testing.T) {
	t.Parallel()
	c := newImageEnv(t, map[string]string{"MAX_CONCURRENT_REQUESTS_PER_USER": "1",
		"PROVIDER_FIRST_TOKEN_TIMEOUT_SECONDS": "30", "REQUEST_TIMEOUT_SECONDS": "60"})
	c.up.groq.Default(fakeupstream.HangAfterTokens(1))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream := openChat(t, c.env, ctx, false, c.token)
	t.Cleanup(func() { stream.Body.Close() })
	require.Equal(t, http.StatusOK, stream.StatusCode)

	for _, path := range []string{"/api/v1/images", "/v1/images/generations"} {
		res := c.do(http.MethodPost, path, map[string]any{"prompt": "a cat"}, bearer(c.token))
		require.Equal(t, http.StatusTooManyRequests, res.status, "%s: %s", path, res.body)
		assert.Equal(t, "1", res.header.Get("Retry-After"), path)
	}
	assert.Equal(t, float64(1), c.quotaUsed(c.token), "the chat's unit only")
	assert.Empty(t, c.up.huggingface.Requests())

	cancel()
	require.Eventually(t, func() bool {
		return c.do(http.MethodPost, "/api/v1/images", map[string]any{"prompt": "a cat"}, bearer(c.token)).status == http.StatusOK
	}, 5*time.Second, 20*time.Millisecond, "the slot comes back when the stream ends")
}

func TestImagesBadRequests(t *testing.T) {
	t.Parallel()
	c := newImageEnv(t, nil)
	tests := []struct {
		name, path string
		body       map[string]any
		want       string
	}{
		{"prompt too long", "/api/v1/images", map[string]any{"prompt": strings.Repeat("a", 4001)}, "prompt"},
		{"empty prompt", "/api/v1/images", map[string]any{"prompt": ""}, "prompt"},
		{"bad size", "/api/v1/images", map[string]any{"prompt": "a", "size": "huge"}, "size"},
		{"too many", "/api/v1/images", map[string]any{"prompt": "a", "n": 9}, "n"},
		{"url", "/v1/images/generations", map[string]any{"prompt": "a", "response_format": "url"}, "stores no files"},
		{"openai prompt too long", "/v1/images/generations", map[string]any{"prompt": strings.Repeat("a", 4001)}, "prompt"},
	}
	for _, tt := range tests {
		res := c.do(http.MethodPost, tt.path, tt.body, bearer(c.token))
		assert.Equal(t, http.StatusBadRequest, res.status, "%s: %s", tt.name, res.body)
		assert.Contains(t, string(res.body), tt.want, tt.name)
	}
	assert.Equal(t, float64(0), c.quotaUsed(c.token))
	assert.Empty(t, c.up.huggingface.Requests())
}

func TestImagesRequestLogKind(t *testing.T) {
	t.Parallel()
	c := newImageEnv(t, nil)
	res := c.do(http.MethodPost, "/api/v1/images", map[string]any{"prompt": "a cat"}, bearer(c.token))
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	var kind, provider string
	require.Eventually(t, func() bool {
		var n int64
		c.queryRow(`SELECT count(*) FROM request_log`, &n)
		return n == 1
	}, 5*time.Second, 20*time.Millisecond)
	c.queryRow(`SELECT kind, provider FROM request_log`, &kind, &provider)
	assert.Equal(t, "image", kind)
	assert.Equal(t, "huggingface", provider)

	// The admin's request log shows its kind, and no tier (the spec's
	// validating transport checks the answer).
	c.registerAdmin("boss@example.com", pw)
	boss := c.login("boss@example.com", pw)
	list := c.do(http.MethodGet, "/api/v1/admin/requests", nil, bearer(boss))
	require.Equal(t, http.StatusOK, list.status, "%s", list.body)
	entries := list.json(t)["requests"].([]any)
	require.Len(t, entries, 1)
	entry := entries[0].(map[string]any)
	assert.Equal(t, "image", entry["kind"])
	assert.Nil(t, entry["tier"])

	// Analytics count it, without a tier's route, as an image.
	an := c.do(http.MethodGet, "/api/v1/admin/analytics", nil, bearer(boss))
	require.Equal(t, http.StatusOK, an.status, "%s", an.body)
	assert.Equal(t, []any{
		map[string]any{"kind": "chat", "requests": 0.0, "errors_4xx": 0.0, "errors_5xx": 0.0},
		map[string]any{"kind": "image", "requests": 1.0, "errors_4xx": 0.0, "errors_5xx": 0.0},
		map[string]any{"kind": "transcription", "requests": 0.0, "errors_4xx": 0.0, "errors_5xx": 0.0},
		map[string]any{"kind": "speech", "requests": 0.0, "errors_4xx": 0.0, "errors_5xx": 0.0},
	}, an.json(t)["by_kind"])
	assert.Empty(t, an.json(t)["by_route"])
}

func TestOpenAISDKGeneratesAnImage(t *testing.T) {
	t.Parallel()
	up := newUpstreams(t)
	e := newSDKEnv(t, imageVars(up, nil))
	e.up.huggingface.Default(fakeupstream.Image("image/png", fakeupstream.PNG()))
	img, err := e.client.Images.Generate(t.Context(), openai.ImageGenerateParams{
		Prompt:         "a red square",
		Model:          openai.ImageModelGPTImage2,
		Size:           openai.ImageGenerateParamsSize1024x1024,
		ResponseFormat: openai.ImageGenerateParamsResponseFormatB64JSON,
	})
	require.NoError(t, err)
	require.Len(t, img.Data, 1)
	data, err := base64.StdEncoding.DecodeString(img.Data[0].B64JSON)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(fakeupstream.PNG(), data))
	assert.Equal(t, openai.ImagesResponseOutputFormatPNG, img.OutputFormat)

	_, err = e.client.Images.Generate(t.Context(), openai.ImageGenerateParams{
		Prompt: "a red square", ResponseFormat: openai.ImageGenerateParamsResponseFormatURL,
	})
	ae := apiError(t, err)
	assert.Equal(t, http.StatusBadRequest, ae.StatusCode)
	assert.Equal(t, "response_format", ae.Param)
}
