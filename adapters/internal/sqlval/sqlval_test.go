package sqlval_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/internal/sqlval"
	"github.com/genzai/genzai/domain"
)

func TestClipText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"fast", "fast"},
		{"a\x00b", "a\uFFFDb"},
		{"a\xffb", "a\uFFFDb"},
		{strings.Repeat("é", 200), strings.Repeat("é", sqlval.MaxText)},
		{strings.Repeat("x", sqlval.MaxText), strings.Repeat("x", sqlval.MaxText)},
	} {
		assert.Equal(t, tc.want, sqlval.ClipText(tc.in), "%q", tc.in)
	}
	assert.Nil(t, sqlval.OptText(""))
	assert.Equal(t, "x", *sqlval.OptText("x"))
	assert.Equal(t, "", sqlval.Deref(nil))
}

func TestNumbers(t *testing.T) {
	t.Parallel()
	assert.Equal(t, int32(0), sqlval.ClampInt32(-5))
	assert.Equal(t, int32(2147483647), sqlval.ClampInt32(1<<40))
	assert.Equal(t, int32(1), sqlval.DurationMs(1999*time.Microsecond))
	assert.Equal(t, int32(0), sqlval.DurationMs(-time.Second))
}

func TestAttempts(t *testing.T) {
	t.Parallel()
	k := func(i int) *int { return &i }
	b, err := sqlval.EncodeAttempts([]domain.Attempt{
		{Provider: domain.ProviderGroq, Reason: "server_error", KeyIndex: k(1)},
		{Provider: domain.ProviderHuggingFace, Reason: "timeout"},
		{Provider: domain.ProviderGroq, Reason: "rate_limited", KeyIndex: k(-2)},
	})
	require.NoError(t, err)
	assert.JSONEq(t, `[{"provider":"groq","reason":"server_error","key_index":1},
		{"provider":"huggingface","reason":"timeout"},
		{"provider":"groq","reason":"rate_limited","key_index":0}]`, string(b))
	back, err := sqlval.DecodeAttempts(b)
	require.NoError(t, err)
	assert.Equal(t, []domain.Attempt{
		{Provider: domain.ProviderGroq, Reason: "server_error", KeyIndex: k(1)},
		{Provider: domain.ProviderHuggingFace, Reason: "timeout"},
		{Provider: domain.ProviderGroq, Reason: "rate_limited", KeyIndex: k(0)},
	}, back)

	b, err = sqlval.EncodeAttempts(nil)
	require.NoError(t, err)
	assert.Equal(t, "[]", string(b), "no attempts is an empty array, never null")
	back, err = sqlval.DecodeAttempts(b)
	require.NoError(t, err)
	assert.Nil(t, back)
	_, err = sqlval.DecodeAttempts([]byte("{"))
	assert.Error(t, err)
}

func TestContainsPattern(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", "%%"},
		{"Ada", "%ada%"},
		{"a_b", `%a\_b%`},
		{"100%", `%100\%%`},
		{`back\slash`, `%back\\slash%`},
		{"ÉCOLE", "%école%"},
	} {
		assert.Equal(t, tc.want, sqlval.ContainsPattern(tc.in), "%q", tc.in)
	}
}

func TestCheckFeedback(t *testing.T) {
	t.Parallel()
	ok := domain.Feedback{Rating: domain.RatingUp, Comment: strings.Repeat("é", domain.MaxFeedbackComment)}
	require.NoError(t, sqlval.CheckFeedback(ok))
	for name, f := range map[string]domain.Feedback{
		"unknown rating":   {Rating: "meh"},
		"comment too long": {Rating: domain.RatingDown, Comment: strings.Repeat("x", domain.MaxFeedbackComment+1)},
		"NUL in comment":   {Rating: domain.RatingDown, Comment: "a\x00b"},
		"invalid UTF-8":    {Rating: domain.RatingDown, Comment: "a\xffb"},
	} {
		assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(sqlval.CheckFeedback(f)), name)
	}
}

func TestCache(t *testing.T) {
	t.Parallel()
	got, err := sqlval.Cache("")
	require.NoError(t, err)
	assert.Nil(t, got, "the cache off is NULL")
	for _, c := range []domain.CacheStatus{domain.CacheHit, domain.CacheMiss, domain.CacheBypass} {
		got, err := sqlval.Cache(c)
		require.NoError(t, err)
		require.NotNil(t, got)
		assert.Equal(t, string(c), *got)
	}
	for _, bad := range []domain.CacheStatus{"HIT", "stale", " miss"} {
		_, err := sqlval.Cache(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestAPI(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "native", "native": "native", "openai": "openai"} {
		got, err := sqlval.API(in)
		require.NoError(t, err)
		assert.Equal(t, want, got, "%q", in)
	}
	for _, bad := range []string{"grpc", "OpenAI", " native"} {
		_, err := sqlval.API(bad)
		assert.Error(t, err, "%q", bad)
	}
}
