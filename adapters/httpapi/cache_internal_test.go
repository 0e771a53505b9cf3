package httpapi

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/genzai/genzai/domain/chat"
)

func TestCacheMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header *string
		want   chat.CacheMode
	}{
		{header: nil, want: chat.CacheUse},
		{header: new(""), want: chat.CacheUse},
		{header: new("max-age=0"), want: chat.CacheUse},
		{header: new("no-cache"), want: chat.CacheRefresh},
		{header: new("No-Cache"), want: chat.CacheRefresh},
		{header: new(" max-age=0 ,no-cache "), want: chat.CacheRefresh},
		{header: new(`no-cache="set-cookie"`), want: chat.CacheRefresh},
		{header: new("no-store"), want: chat.CacheSkip},
		{header: new("NO-STORE, no-cache"), want: chat.CacheSkip},
		{header: new("no-cache,no-store"), want: chat.CacheSkip},
		{header: new("no-cachex, xno-store"), want: chat.CacheUse},
	}
	for _, tt := range tests {
		name := "absent"
		if tt.header != nil {
			name = *tt.header
		}
		assert.Equal(t, tt.want, cacheMode(tt.header), name)
	}
}
