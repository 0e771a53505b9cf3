package openrouter

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/genzai/genzai/adapters/openaicompat"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// maxImageAnswer bounds a chat completion carrying images (base64 data URLs).
const maxImageAnswer = 48 << 20

// Images generates images through chat completions with
// "modalities": ["image", "text"]: the pictures come back in the assistant
// message's images array, as image_url data URLs.
type Images struct {
	client *openaicompat.Client
}

var _ ports.ImageGenerator = (*Images)(nil)

// NewImages returns image generation over client's keys (the chat client
// New returns).
func NewImages(client *openaicompat.Client) *Images { return &Images{client: client} }

// Name implements ports.ImageGenerator.
func (i *Images) Name() domain.Provider { return domain.ProviderOpenRouter }

type imageChatRequest struct {
	Model       string         `json:"model"`
	Messages    []imageMessage `json:"messages"`
	Modalities  []string       `json:"modalities"`
	Stream      bool           `json:"stream"`
	ImageConfig *imageConfig   `json:"image_config,omitempty"`
}

type imageMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type imageConfig struct {
	AspectRatio string `json:"aspect_ratio"`
}

// imageCompletion is the part of the answer that carries images.
type imageCompletion struct {
	Choices []struct {
		Message struct {
			Images []struct {
				Type     string `json:"type"`
				ImageURL struct {
					URL string `json:"url"`
				} `json:"image_url"`
			} `json:"images"`
		} `json:"message"`
	} `json:"choices"`
}

// GenerateImages implements ports.ImageGenerator: calls until req.N images
// arrived (a model usually draws one per answer), at most req.N calls.
func (i *Images) GenerateImages(ctx context.Context, key int, req domain.ImageRequest) ([]domain.Image, error) {
	n := max(req.N, 1)
	body := imageChatRequest{
		Model:      req.Model,
		Messages:   []imageMessage{{Role: "user", Content: req.Prompt}},
		Modalities: []string{"image", "text"},
	}
	if ratio := aspectRatio(req.Width, req.Height); ratio != "" {
		body.ImageConfig = &imageConfig{AspectRatio: ratio}
	}
	var out []domain.Image
	for range n {
		reply, err := i.client.Post(ctx, key, i.client.URL("/chat/completions"), "application/json", body, maxImageAnswer)
		if err != nil {
			return nil, err
		}
		images, err := decodeImages(reply.Body)
		if err != nil {
			return nil, err
		}
		out = append(out, images...)
		if len(out) >= n {
			return out[:n], nil
		}
	}
	return out, nil
}

// decodeImages reads the data URLs of an answer's images; an answer that
// is not a completion, or an image that is not a base64 data URL (the
// gateway fetches nothing a provider points at), is a bad response.
func decodeImages(body []byte) ([]domain.Image, error) {
	bad := func(msg string, err error) error {
		return &domain.ProviderError{Provider: domain.ProviderOpenRouter, Class: domain.FailureRetryable,
			Reason: domain.ReasonBadResponse, Message: msg, Err: err}
	}
	var c imageCompletion
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, bad("malformed image answer", err)
	}
	var out []domain.Image
	for _, ch := range c.Choices {
		for _, im := range ch.Message.Images {
			meta, data, ok := strings.Cut(strings.TrimPrefix(im.ImageURL.URL, "data:"), ",")
			if !ok || !strings.HasPrefix(im.ImageURL.URL, "data:") || !strings.HasSuffix(meta, ";base64") {
				return nil, bad("image is not a base64 data URL", nil)
			}
			b, err := base64.StdEncoding.DecodeString(data)
			if err != nil {
				return nil, bad("image data does not decode", err)
			}
			out = append(out, domain.Image{Data: b, MIMEType: strings.TrimSuffix(meta, ";base64")})
		}
	}
	return out, nil
}

// aspectRatio is width:height in lowest terms; "" when either is unknown.
func aspectRatio(w, h int) string {
	if w <= 0 || h <= 0 {
		return ""
	}
	a, b := w, h
	for b != 0 {
		a, b = b, a%b
	}
	return strconv.Itoa(w/a) + ":" + strconv.Itoa(h/a)
}
