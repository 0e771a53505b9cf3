package httpapi

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
)

// form is a multipart body of parts (name, value) in order, and its boundary.
func form(t *testing.T, parts ...[2]string) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		var (
			pw  io.Writer
			err error
		)
		if p[0] == "file" {
			pw, err = w.CreateFormFile("file", "a.wav")
		} else {
			pw, err = w.CreateFormField(p[0])
		}
		require.NoError(t, err)
		_, err = io.WriteString(pw, p[1])
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	return b.Bytes(), w.Boundary()
}

func TestReadUpload(t *testing.T) {
	t.Parallel()
	body, boundary := form(t, [2]string{"language", "en"}, [2]string{"file", "RIFFxxxxWAVE"}, [2]string{"prompt", "hi"})
	up, err := readUpload(multipart.NewReader(bytes.NewReader(body), boundary), 64)
	require.NoError(t, err)
	assert.True(t, up.sent)
	assert.Equal(t, []byte("RIFFxxxxWAVE"), up.file)
	assert.Equal(t, map[string]string{"language": "en", "prompt": "hi"}, up.fields)

	body, boundary = form(t, [2]string{"file", ""})
	up, err = readUpload(multipart.NewReader(bytes.NewReader(body), boundary), 64)
	require.NoError(t, err)
	assert.True(t, up.sent, "an empty file was sent")
	assert.Empty(t, up.file)
}

func TestReadUploadRefusals(t *testing.T) {
	t.Parallel()
	twice, b1 := form(t, [2]string{"file", "a"}, [2]string{"file", "b"})
	big, b2 := form(t, [2]string{"file", strings.Repeat("x", 65)})
	longField, b3 := form(t, [2]string{"prompt", strings.Repeat("x", maxFieldBytes+1)})
	whole, b4 := form(t, [2]string{"file", "RIFFxxxxWAVE"})
	// A field the gateway ignores is no licence to send megabytes, nor
	// are thousands of parts: each is bounded as the read ones are.
	longIgnored, b5 := form(t, [2]string{"model", strings.Repeat("x", maxFieldBytes+1)})
	many := make([][2]string, maxFormParts+1)
	for i := range many {
		many[i] = [2]string{"temperature", "0"}
	}
	manyParts, b6 := form(t, many...)
	tests := []struct {
		name     string
		body     []byte
		boundary string
		code     domain.Code
		field    string
	}{
		{"a second file", twice, b1, domain.CodeInvalid, "file"},
		{"a file over the limit", big, b2, domain.CodePayloadTooLarge, "file"},
		{"a field over its bound", longField, b3, domain.CodeInvalid, "prompt"},
		{"cut short", whole[:len(whole)-10], b4, domain.CodeInvalid, ""},
		{"another boundary", whole, "not-the-boundary", domain.CodeInvalid, ""},
		{"an ignored field over the bound", longIgnored, b5, domain.CodeInvalid, "model"},
		{"too many parts", manyParts, b6, domain.CodeInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := readUpload(multipart.NewReader(bytes.NewReader(tt.body), tt.boundary), 64)
			assert.Equal(t, tt.code, domain.ErrorCode(err), "%v", err)
			assert.Equal(t, tt.field, domain.ErrorField(err))
		})
	}
}

func TestReadUploadOverTheBodyLimitIsTheFilesRefusal(t *testing.T) {
	t.Parallel()
	body, boundary := form(t, [2]string{"file", strings.Repeat("x", 100)})
	rec := httptest.NewRecorder()
	limited := http.MaxBytesReader(rec, io.NopCloser(bytes.NewReader(body)), 50)
	_, err := readUpload(multipart.NewReader(limited, boundary), 1000)
	assert.Equal(t, domain.CodePayloadTooLarge, domain.ErrorCode(err))
	assert.Contains(t, domain.ErrorMessage(err), "at most 1000 bytes (MAX_AUDIO_BYTES)")
}
