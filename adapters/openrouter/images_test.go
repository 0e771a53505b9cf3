package openrouter_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/adapters/openrouter"
	"github.com/genzai/genzai/domain"
)

func TestImagesReadTheMessagesImages(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(t)
	gen := openrouter.NewImages(openrouter.New(openrouter.Config{BaseURL: up.URL() + "/api/v1", Keys: []string{"or_a"}, HTTPClient: up.Client()}))
	assert.Equal(t, domain.ProviderOpenRouter, gen.Name())

	images, err := gen.GenerateImages(t.Context(), 0, domain.ImageRequest{
		Prompt: "a red square", Model: "google/gemini-2.5-flash-image", Width: 1024, Height: 768, N: 1,
	})
	require.NoError(t, err)
	require.Len(t, images, 1)
	assert.Equal(t, fakeupstream.PNG(), images[0].Data)
	assert.Equal(t, "image/png", images[0].MIMEType)

	reqs := up.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "/api/v1/chat/completions", r.Path)
	assert.Equal(t, "google/gemini-2.5-flash-image", r.Model)
	assert.Equal(t, []string{"image", "text"}, r.Modalities)
	require.Len(t, r.Messages, 1)
	assert.Equal(t, "a red square", r.Messages[0].Content)
	assert.JSONEq(t, `{"aspect_ratio":"4:3"}`, string(r.Fields["image_config"]))
	assert.Equal(t, "GenZ AI", r.Header.Get("X-Title"))
}

func TestImagesFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		b      fakeupstream.Behaviour
		reason domain.AttemptReason
	}{
		{"429", fakeupstream.RateLimited(0), domain.ReasonRateLimited},
		{"html", fakeupstream.HTMLPage(), domain.ReasonBadResponse},
		{"error object in a 200", fakeupstream.Status(http.StatusOK, `{"error":{"code":502,"message":"upstream down"}}`), domain.ReasonServerError},
		{"a link, not data", fakeupstream.Handler(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"choices":[{"message":{"images":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}}]}`))
		}), domain.ReasonBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := fakeupstream.New(t)
			up.Default(tt.b)
			gen := openrouter.NewImages(openrouter.New(openrouter.Config{BaseURL: up.URL(), Keys: []string{"or_a"}, HTTPClient: up.Client()}))
			_, err := gen.GenerateImages(t.Context(), 0, domain.ImageRequest{Prompt: "x", Model: "m", N: 1})
			var pe *domain.ProviderError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.reason, pe.Reason)
			assert.Equal(t, domain.ProviderOpenRouter, pe.Provider)
		})
	}
}

func TestImagesWithoutImagesIsNoImage(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(t)
	up.Default(fakeupstream.Handler(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"choices":[{"message":{"role":"assistant","content":"I cannot draw that."}}]}`))
	}))
	gen := openrouter.NewImages(openrouter.New(openrouter.Config{BaseURL: up.URL(), Keys: []string{"or_a"}, HTTPClient: up.Client()}))
	images, err := gen.GenerateImages(t.Context(), 0, domain.ImageRequest{Prompt: "x", Model: "m", N: 1})
	require.NoError(t, err)
	assert.Empty(t, images, "the router counts an answer without images as a bad response")
}
