package openaicompat

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
)

func TestReadSized(t *testing.T) {
	t.Parallel()
	broken := errors.New("connection reset")
	const answer = `{"choices":[{"message":{"content":"hi"}}]}`
	for _, tc := range []struct {
		name   string
		r      io.Reader
		length int64
		want   string
		err    error
	}{
		{"length said", strings.NewReader(answer), int64(len(answer)), answer, nil},
		{"length unknown", strings.NewReader(answer), -1, answer, nil},
		{"shorter than said", strings.NewReader(`{}`), 100, `{}`, nil},
		{"longer than said", strings.NewReader(answer), 3, answer, nil},
		{"one byte at a time", iotest.OneByteReader(strings.NewReader(answer)), int64(len(answer)), answer, nil},
		{"read fails", io.MultiReader(strings.NewReader(`{"ch`), iotest.ErrReader(broken)), 40, `{"ch`, broken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := readSized(tc.r, tc.length)
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err)
			} else {
				assert.NoError(t, err)
			}
			assert.Equal(t, tc.want, string(got))
		})
	}
}
