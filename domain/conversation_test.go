package domain_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	"github.com/genzai/genzai/domain"
)

func TestTitleFromPrompt(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 30)
	tests := []struct {
		name, prompt, want string
	}{
		{"a sentence", "How do I bake bread? I have flour.", "How do I bake bread?"},
		{"no sentence end", "  bake   bread\tnow  ", "bake bread now"},
		{"first line", "Translate this:\nBonjour. Ça va ?", "Translate this:"},
		{"a dot inside a word does not end it", "Is 3.14 pi? Yes.", "Is 3.14 pi?"},
		{"full-width end", "東京の天気は？明日は", "東京の天気は？"},
		{"blank", " \n\t ", ""},
		{"leading blank line", "\n\nHello there", "Hello there"},
		{"cut at a word", long, strings.TrimSpace(strings.Repeat("word ", 15)) + "…"},
		{"multi-byte, no spaces", strings.Repeat("é", 100), strings.Repeat("é", domain.MaxDerivedTitleLen-1) + "…"},
		{"invalid UTF-8 dropped", "ab\xffc", "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := domain.TitleFromPrompt(tt.prompt)
			assert.Equal(t, tt.want, got)
			assert.True(t, utf8.ValidString(got))
			assert.LessOrEqual(t, utf8.RuneCountInString(got), domain.MaxDerivedTitleLen)
		})
	}
}

func TestSearchWords(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"foo", "bar", "café", "3"}, domain.SearchWords(`"Foo"-BAR* café: (3)`))
	assert.Empty(t, domain.SearchWords(" !? "))
}
