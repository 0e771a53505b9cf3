package domain

import (
	"bytes"
	"fmt"
	"mime"
)

// ImageRequest is one request for generated images, as a provider is asked.
type ImageRequest struct {
	// Prompt describes the picture.
	Prompt string
	// Model is the provider's model; the router fills it in from the route.
	Model string
	// Width and Height are the picture's size in pixels.
	Width, Height int
	// N is how many pictures are wanted (at least 1).
	N int
}

// Image is one generated picture: its bytes and their media type.
type Image struct {
	Data     []byte
	MIMEType string
}

// Image media types the gateway recognises by their first bytes.
const (
	MIMETypePNG  = "image/png"
	MIMETypeJPEG = "image/jpeg"
	MIMETypeWebP = "image/webp"
	MIMETypeGIF  = "image/gif"
)

// SniffImage names the image type of b from its first bytes (PNG, JPEG,
// WebP or GIF); "" when b is none of them (HTML, JSON, text...).
func SniffImage(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return MIMETypePNG
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return MIMETypeJPEG
	case len(b) >= 12 && bytes.HasPrefix(b, []byte("RIFF")) && string(b[8:12]) == "WEBP":
		return MIMETypeWebP
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return MIMETypeGIF
	}
	return ""
}

// CheckImage verifies that img's bytes are an image of the type it claims
// (an empty claim takes the sniffed type) and returns it with that type.
// A provider that answers HTML or JSON where an image was due fails here:
// the error is a *ProviderError with ReasonBadResponse, so that the router
// falls back to the next provider.
func CheckImage(p Provider, img Image) (Image, error) {
	got := SniffImage(img.Data)
	if mt, _, err := mime.ParseMediaType(img.MIMEType); err == nil {
		img.MIMEType = mt // lower case, without parameters
	}
	if img.MIMEType == "image/jpg" {
		img.MIMEType = MIMETypeJPEG // a common misspelling of the same type
	}
	switch {
	case got == "":
		return Image{}, &ProviderError{Provider: p, Class: FailureRetryable, Reason: ReasonBadResponse,
			Message: fmt.Sprintf("answer is not an image (%d bytes)", len(img.Data))}
	case img.MIMEType != "" && img.MIMEType != got:
		return Image{}, &ProviderError{Provider: p, Class: FailureRetryable, Reason: ReasonBadResponse,
			Message: fmt.Sprintf("answer claims %s but is %s", img.MIMEType, got)}
	}
	img.MIMEType = got
	return img, nil
}
