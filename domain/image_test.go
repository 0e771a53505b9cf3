package domain_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
)

func TestCheckImage(t *testing.T) {
	t.Parallel()
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	tests := []struct {
		name  string
		img   domain.Image
		want  string
		fails bool
	}{
		{"png claimed", domain.Image{Data: png, MIMEType: "image/png"}, domain.MIMETypePNG, false},
		{"png unclaimed", domain.Image{Data: png}, domain.MIMETypePNG, false},
		{"claim with parameters", domain.Image{Data: png, MIMEType: "Image/PNG; q=1"}, domain.MIMETypePNG, false},
		{"jpeg as jpg", domain.Image{Data: []byte{0xFF, 0xD8, 0xFF, 0xE0}, MIMEType: "image/jpg"}, domain.MIMETypeJPEG, false},
		{"webp", domain.Image{Data: []byte("RIFF\x10\x00\x00\x00WEBPVP8 ")}, domain.MIMETypeWebP, false},
		{"gif", domain.Image{Data: []byte("GIF89a\x01\x00")}, domain.MIMETypeGIF, false},
		{"html", domain.Image{Data: []byte("<!DOCTYPE html><html>"), MIMEType: "text/html"}, "", true},
		{"json claimed as png", domain.Image{Data: []byte(`{"error":"x"}`), MIMEType: "image/png"}, "", true},
		{"png claimed as jpeg", domain.Image{Data: png, MIMEType: "image/jpeg"}, "", true},
		{"empty", domain.Image{}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.CheckImage(domain.ProviderHuggingFace, tt.img)
			if tt.fails {
				var pe *domain.ProviderError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, domain.ReasonBadResponse, pe.Reason)
				assert.Equal(t, domain.FailureRetryable, pe.Class)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.MIMEType)
		})
	}
}
