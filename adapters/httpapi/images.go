package httpapi

import (
	"context"
	"strings"
	"time"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/images"
)

// generateImages runs an image request of either dialect (the two bodies
// share prompt, size and n) for the caller.
func (h *handlers) generateImages(ctx context.Context, dialect, prompt string, size *string, n *int) (images.Result, error) {
	req := images.Request{Prompt: prompt, API: dialect}
	if size != nil {
		req.Size = *size
	}
	if n != nil {
		req.N = *n
		if req.N == 0 {
			return images.Result{}, domain.Invalid("n", "must be between 1 and %d", images.DefaultMaxN)
		}
	}
	svc := h.s.deps.Images
	if svc == nil {
		return images.Result{}, images.ErrDisabled
	}
	u, ok := UserFrom(ctx)
	if !ok {
		return images.Result{}, domain.Errorf(domain.CodeUnauthorized, "Missing bearer token")
	}
	// Images cost quota: an account that has not proven its address gets
	// none, as for chat.
	if err := h.s.deps.Login.RequireVerified(u); err != nil {
		return images.Result{}, err
	}
	req.RequestID = RequestIDFrom(ctx)
	return svc.Generate(ctx, u, req)
}

// GenerateImages implements api.StrictServerInterface.
func (h *handlers) GenerateImages(ctx context.Context, req api.GenerateImagesRequestObject) (api.GenerateImagesResponseObject, error) {
	res, err := h.generateImages(ctx, domain.APINative, req.Body.Prompt, req.Body.Size, req.Body.N)
	if err != nil {
		return nil, err
	}
	out := api.GenerateImages200JSONResponse{Provider: api.Provider(res.Provider), Model: res.Model,
		RequestId: RequestIDFrom(ctx), Images: make([]api.GeneratedImage, 0, len(res.Images))}
	for _, img := range res.Images {
		out.Images = append(out.Images, api.GeneratedImage{B64Json: img.Data, MimeType: api.GeneratedImageMimeType(img.MIMEType)})
	}
	return out, nil
}

// CreateImage implements api.StrictServerInterface: OpenAI's Images API.
func (h *handlers) CreateImage(ctx context.Context, req api.CreateImageRequestObject) (api.CreateImageResponseObject, error) {
	if f := req.Body.ResponseFormat; f != nil && *f != "b64_json" {
		return nil, domain.Invalid("response_format", "%s is not supported: this gateway stores no files; ask for b64_json", *f)
	}
	res, err := h.generateImages(ctx, domain.APIOpenAI, req.Body.Prompt, req.Body.Size, req.Body.N)
	if err != nil {
		return nil, err
	}
	out := api.CreateImage200JSONResponse{Created: time.Now().Unix()}
	for _, img := range res.Images {
		out.Data = append(out.Data, struct {
			B64Json []byte `json:"b64_json"`
		}{B64Json: img.Data})
	}
	if len(res.Images) > 0 {
		f := api.OpenAIImagesResponseOutputFormat(strings.TrimPrefix(res.Images[0].MIMEType, "image/"))
		out.OutputFormat = &f
	}
	return out, nil
}

// imagesInfo says whether image generation is on, for the model lists.
func (h *handlers) imagesInfo() api.ImagesInfo {
	info := api.ImagesInfo{Providers: []api.Provider{}, QuotaCost: images.DefaultCost}
	svc := h.s.deps.Images
	if svc == nil {
		return info
	}
	info.QuotaCost = svc.Cost()
	if !svc.Enabled() {
		return info
	}
	info.Enabled = true
	for _, p := range svc.Providers() {
		info.Providers = append(info.Providers, api.Provider(p))
	}
	return info
}
