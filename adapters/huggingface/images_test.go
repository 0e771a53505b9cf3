package huggingface_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/huggingface"
	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/domain"
)

func TestImagesSpeaksTheInferenceRouter(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(t)
	chat := huggingface.New(huggingface.Config{BaseURL: up.URL() + "/v1", Keys: []string{"hf_a"}, HTTPClient: up.Client()})
	gen := huggingface.NewImages(chat, up.URL()+"/hf-inference/")
	assert.Equal(t, domain.ProviderHuggingFace, gen.Name())

	images, err := gen.GenerateImages(t.Context(), 0, domain.ImageRequest{
		Prompt: "a red square", Model: "black-forest-labs/FLUX.1-schnell", Width: 512, Height: 768, N: 2,
	})
	require.NoError(t, err)
	require.Len(t, images, 2)
	assert.Equal(t, fakeupstream.PNG(), images[0].Data)
	assert.Equal(t, "image/png", images[0].MIMEType)

	reqs := up.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/hf-inference/models/black-forest-labs/FLUX.1-schnell", reqs[0].Path)
	assert.Equal(t, "black-forest-labs/FLUX.1-schnell", reqs[0].Model)
	assert.Equal(t, "a red square", reqs[0].Inputs)
	assert.JSONEq(t, `{"width":512,"height":768}`, string(reqs[0].Parameters))
	assert.Equal(t, "Bearer hf_a", reqs[0].Header.Get("Authorization"))
}

func TestImagesFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		b      fakeupstream.Behaviour
		class  domain.FailureClass
		reason domain.AttemptReason
		retry  time.Duration
		msg    string
	}{
		{"429 with Retry-After", fakeupstream.HFError(http.StatusTooManyRequests, "Rate limit reached").WithHeader("Retry-After", "7"),
			domain.FailureRateLimited, domain.ReasonRateLimited, 7 * time.Second, "Rate limit reached"},
		{"cold model", fakeupstream.HFLoading(20 * time.Second), domain.FailureRetryable, domain.ReasonModelLoading, 20 * time.Second, ""},
		{"bad token", fakeupstream.HFError(http.StatusUnauthorized, "Invalid credentials in Authorization header"),
			domain.FailureKeyRejected, domain.ReasonKeyRejected, 0, "Invalid credentials"},
		{"server error", fakeupstream.HFError(http.StatusInternalServerError, "CUDA out of memory"),
			domain.FailureRetryable, domain.ReasonServerError, 0, "CUDA out of memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := fakeupstream.New(t)
			up.Default(tt.b)
			chat := huggingface.New(huggingface.Config{BaseURL: up.URL(), Keys: []string{"hf_a"}, HTTPClient: up.Client()})
			_, err := huggingface.NewImages(chat, up.URL()).GenerateImages(t.Context(), 0, domain.ImageRequest{Prompt: "x", Model: "m/n", N: 1})
			var pe *domain.ProviderError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.class, pe.Class)
			assert.Equal(t, tt.reason, pe.Reason)
			assert.Equal(t, domain.ProviderHuggingFace, pe.Provider)
			if tt.retry > 0 {
				assert.Equal(t, tt.retry, pe.RetryAfter)
			}
			assert.Contains(t, pe.Message, tt.msg)
		})
	}
}

func TestImagesPassTheClaimedTypeOn(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(t)
	up.Default(fakeupstream.HTMLPage())
	chat := huggingface.New(huggingface.Config{BaseURL: up.URL(), Keys: []string{"hf_a"}, HTTPClient: up.Client()})
	images, err := huggingface.NewImages(chat, up.URL()).GenerateImages(t.Context(), 0, domain.ImageRequest{Prompt: "x", Model: "m", N: 1})
	require.NoError(t, err, "the router checks the bytes")
	require.Len(t, images, 1)
	_, err = domain.CheckImage(domain.ProviderHuggingFace, images[0])
	var pe *domain.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, domain.ReasonBadResponse, pe.Reason)
}
