package fakeupstream

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net/http"
)

// PNG returns a valid 1x1 PNG image.
func PNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.RGBA{R: 255, A: 255})
	var buf bytes.Buffer
	must(png.Encode(&buf, img))
	return buf.Bytes()
}

// Image answers image requests with data claimed as contentType: Hugging
// Face's text-to-image with the raw bytes and that Content-Type, an
// OpenRouter image completion with a data URL of that type. Other requests
// are answered as OK(Tokens(3)...) would. OK's default answers a PNG().
func Image(contentType string, data []byte) Behaviour {
	b := OK(Tokens(3)...)
	b.image, b.imageType = append([]byte(nil), data...), contentType
	return b
}

// HFError answers like Hugging Face's inference router failing: code with
// its JSON error body {"error": message}.
func HFError(code int, message string) Behaviour {
	body, _ := json.Marshal(map[string]string{"error": message})
	return Status(code, string(body))
}

// HTMLPage answers 200 with an HTML page (a proxy's or a captive portal's),
// where an image or JSON was due.
func HTMLPage() Behaviour {
	b := Status(http.StatusOK, "<!DOCTYPE html><html><body>Service notice</body></html>")
	return b.WithHeader("Content-Type", "text/html; charset=utf-8")
}

// image is the behaviour's image and its type.
func (c *call) image() ([]byte, string) {
	if c.b.image == nil {
		return PNG(), "image/png"
	}
	return c.b.image, c.b.imageType
}

// rawImage answers Hugging Face's text-to-image call: the bytes.
func (c *call) rawImage() {
	data, typ := c.image()
	c.w.Header().Set("Content-Type", typ)
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(data)
}

// imageCompletion answers OpenRouter's image generation: a completion whose
// assistant message carries one image as an image_url data URL.
func (c *call) imageCompletion() {
	data, typ := c.image()
	url := "data:" + typ + ";base64," + base64.StdEncoding.EncodeToString(data)
	body, err := json.Marshal(map[string]any{
		"id": "gen-fake", "object": "chat.completion", "model": c.rec.Model,
		"choices": []any{map[string]any{
			"index": 0, "finish_reason": "stop",
			"message": map[string]any{
				"role": "assistant", "content": "Here is your image.",
				"images": []any{map[string]any{"type": "image_url", "image_url": map[string]string{"url": url}}},
			},
		}},
		"usage": map[string]int{"prompt_tokens": promptWords(c.rec.Messages), "completion_tokens": 1290, "total_tokens": promptWords(c.rec.Messages) + 1290},
	})
	must(err)
	writeJSON(c.w, http.StatusOK, nil, body)
}
