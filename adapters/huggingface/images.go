package huggingface

import (
	"context"
	"net/url"
	"strings"

	"github.com/genzai/genzai/adapters/openaicompat"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

// DefaultInferenceURL is the root of Hugging Face's inference router for
// task models (text-to-image among them), beside the OpenAI-compatible
// chat root.
const DefaultInferenceURL = "https://router.huggingface.co/hf-inference"

// MaxImageBytes bounds one generated image read from the upstream.
const MaxImageBytes = 20 << 20

// Images generates images with text-to-image models on the inference
// router: POST {root}/models/{model} with {"inputs": prompt, "parameters":
// {...}} answers the image's bytes (one image per call); failures answer
// JSON error bodies ({"error": "..."}) with their status, 429 with
// Retry-After, and a cold model 503 with its estimated time.
type Images struct {
	client *openaicompat.Client
	root   string
}

var _ ports.ImageGenerator = (*Images)(nil)

// NewImages returns image generation over client's keys (the chat client
// New returns) at the inference root inferenceURL ("" means
// DefaultInferenceURL).
func NewImages(client *openaicompat.Client, inferenceURL string) *Images {
	if inferenceURL == "" {
		inferenceURL = DefaultInferenceURL
	}
	return &Images{client: client, root: strings.TrimRight(inferenceURL, "/")}
}

// Name implements ports.ImageGenerator.
func (i *Images) Name() domain.Provider { return domain.ProviderHuggingFace }

// imageRequest is the body of a text-to-image call.
type imageRequest struct {
	Inputs     string          `json:"inputs"`
	Parameters imageParameters `json:"parameters"`
}

type imageParameters struct {
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
}

// GenerateImages implements ports.ImageGenerator: one call per image.
func (i *Images) GenerateImages(ctx context.Context, key int, req domain.ImageRequest) ([]domain.Image, error) {
	// The model id holds a slash (owner/name) that is part of the path;
	// each segment is escaped on its own.
	segs := strings.Split(req.Model, "/")
	for j, s := range segs {
		segs[j] = url.PathEscape(s)
	}
	target := i.root + "/models/" + strings.Join(segs, "/")
	body := imageRequest{Inputs: req.Prompt, Parameters: imageParameters{Width: req.Width, Height: req.Height}}
	out := make([]domain.Image, 0, max(req.N, 1))
	for range max(req.N, 1) {
		reply, err := i.client.Post(ctx, key, target, "image/png", body, MaxImageBytes)
		if err != nil {
			return nil, err
		}
		// The bytes are checked against this claim by the router.
		out = append(out, domain.Image{Data: reply.Body, MIMEType: claimedType(reply.Header.Get("Content-Type"))})
	}
	return out, nil
}

// claimedType is the media type an answer claims; a missing one claims
// nothing (the bytes alone decide), anything else is held against them.
func claimedType(contentType string) string {
	if contentType == "application/octet-stream" {
		return ""
	}
	return contentType
}
