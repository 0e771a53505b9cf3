package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadBody(t *testing.T) {
	t.Parallel()
	broken := errors.New("connection reset")
	for _, tc := range []struct {
		name   string
		r      io.Reader
		length int64
		want   string
		err    error
	}{
		{"length said", strings.NewReader(`{"prompt":"hi"}`), 15, `{"prompt":"hi"}`, nil},
		{"length unknown", strings.NewReader(`{"prompt":"hi"}`), -1, `{"prompt":"hi"}`, nil},
		{"shorter than said", strings.NewReader(`{}`), 15, `{}`, nil},
		{"longer than said", strings.NewReader(`{"prompt":"hi"}`), 2, `{"prompt":"hi"}`, nil},
		{"one byte at a time", iotest.OneByteReader(strings.NewReader(`{"a":1}`)), 7, `{"a":1}`, nil},
		{"read fails", io.MultiReader(strings.NewReader(`{"a"`), iotest.ErrReader(broken)), 7, `{"a"`, broken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := readBody(tc.r, tc.length)
			assert.ErrorIs(t, err, tc.err)
			if tc.err == nil {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.want, string(got))
		})
	}
}

func TestRequestBodyReadsJSONBodyOnce(t *testing.T) {
	t.Parallel()
	data := []byte(`{"prompt":"hi"}`)
	b := &jsonBody{Reader: bytes.NewReader(data), data: data}
	got, err := requestBody(b)
	require.NoError(t, err)
	assert.Equal(t, data, got)
	rest, err := io.ReadAll(b)
	require.NoError(t, err)
	assert.Empty(t, rest, "the body counts as read")

	// A body read in part already gives the rest, as io.ReadAll does.
	b = &jsonBody{Reader: bytes.NewReader(data), data: data}
	_, err = b.Read(make([]byte, 3))
	require.NoError(t, err)
	got, err = requestBody(b)
	require.NoError(t, err)
	assert.Equal(t, data[3:], got)
}

func TestSetHeadersIsHeaderSet(t *testing.T) {
	t.Parallel()
	pairs := [][2]string{{"X-Frame-Options", "DENY"}, {"Cache-Control", "no-store"}}
	more := [2]string{"Content-Security-Policy", "default-src 'none'"}
	got, want := http.Header{"Cache-Control": {"public"}}, http.Header{"Cache-Control": {"public"}}
	setHeaders(got, pairs, more)
	for _, p := range append(pairs, more) {
		want.Set(p[0], p[1])
	}
	assert.Equal(t, want, got)
	got.Add("X-Frame-Options", "SAMEORIGIN")
	assert.Equal(t, []string{"no-store"}, got.Values("Cache-Control"), "an Add to one header leaves the next alone")
}
