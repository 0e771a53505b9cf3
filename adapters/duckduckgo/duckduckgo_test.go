package duckduckgo_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/duckduckgo"
	"github.com/genzai/genzai/domain"
)

func page(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

var wantResults = []domain.SearchResult{
	{Title: "Machine learning - Wikipedia", URL: "https://en.wikipedia.org/wiki/Machine_learning",
		Snippet: "Machine learning (ML) is a field of study in artificial intelligence concerned with the development of statistical algorithms that can learn from data & generalize to unseen data."},
	{Title: "What Is Machine Learning (ML)? | IBM", URL: "https://www.ibm.com/think/topics/machine-learning?ref=ddg&lang=en",
		Snippet: `Machine learning is a branch of AI — it focuses on using data and algorithms to "imitate" the way humans learn.`},
	{Title: "Machine Learning Crash Course – Google for Developers", URL: "https://developers.google.com/machine-learning/crash-course",
		Snippet: "A fast-paced, practical introduction to machine learning."},
	{Title: "What Is Machine Learning? Definition, Types, and Examples", URL: "https://www.coursera.org/articles/what-is-machine-learning",
		Snippet: "Machine learning is a common type of artificial intelligence."},
}

func TestParseHTML(t *testing.T) {
	t.Parallel()
	got, err := duckduckgo.ParseHTML(bytes.NewReader(page(t, "results.html")))
	require.NoError(t, err)
	assert.Equal(t, wantResults, got, "ads, duplicates and non-web links are dropped; links unwrapped; entities decoded")

	got, err = duckduckgo.ParseHTML(bytes.NewReader(page(t, "no_results.html")))
	require.NoError(t, err)
	assert.Empty(t, got)

	_, err = duckduckgo.ParseHTML(bytes.NewReader(page(t, "challenge.html")))
	assert.Error(t, err, "a challenge page is never read as results")
}

func TestParseLite(t *testing.T) {
	t.Parallel()
	got, err := duckduckgo.ParseLite(bytes.NewReader(page(t, "lite.html")))
	require.NoError(t, err)
	assert.Equal(t, []domain.SearchResult{
		{Title: "Machine learning - Wikipedia", URL: "https://en.wikipedia.org/wiki/Machine_learning", Snippet: "Machine learning (ML) is a field of study in artificial intelligence."},
		{Title: "What is Machine Learning? | IBM", URL: "https://www.ibm.com/think/topics/machine-learning", Snippet: "A branch of AI & computer science."},
	}, got)
	_, err = duckduckgo.ParseLite(bytes.NewReader(page(t, "challenge.html")))
	assert.Error(t, err)
}

func TestUnwrap(t *testing.T) {
	t.Parallel()
	for href, want := range map[string]string{
		"//duckduckgo.com/l/?uddg=https%3A%2F%2Fexample.com%2Fa%3Fb%3D1&rut=x":     "https://example.com/a?b=1",
		"https://duckduckgo.com/l/?uddg=http%3A%2F%2Fexample.com%2F&rut=x&extra=1": "http://example.com/",
		"/l/?kh=-1&uddg=https%3A%2F%2Fexample.org%2Fpath":                          "https://example.org/path",
		"https://example.net/direct":                                               "https://example.net/direct",
		"//duckduckgo.com/l/?rut=only":                                             "",
		"//duckduckgo.com/l/?uddg=javascript%3Aalert(1)":                           "",
		"https://duckduckgo.com/y.js?ad_domain=x":                                  "",
		"javascript:alert(1)":                                                      "",
		"mailto:a@example.com":                                                     "",
		"":                                                                         "",
		"//duckduckgo.com/l/?uddg=%2F%2Fduckduckgo.com%2Fl%2F%3Fuddg%3Dhttps%253A%252F%252Fx.io": "https://x.io",
	} {
		assert.Equal(t, want, duckduckgo.Unwrap(href), href)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"results.html", "no_results.html", "challenge.html", "lite.html"} {
		f.Add(page(f, name))
	}
	f.Add([]byte(`<div class="result"><a class="result__a" href="/l/?uddg=%zz">x</a></div>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func(io.Reader) ([]domain.SearchResult, error){duckduckgo.ParseHTML, duckduckgo.ParseLite} {
			rs, err := parse(bytes.NewReader(data))
			if err != nil {
				continue
			}
			for _, r := range rs {
				if r.Title == "" || r.URL == "" {
					t.Fatalf("empty title or URL: %+v", r)
				}
				u, err := url.Parse(r.URL)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
					t.Fatalf("not a web URL: %q", r.URL)
				}
			}
		}
	})
}

// fakeDDG serves the HTML and lite endpoints with scripted answers.
type fakeDDG struct {
	srv                *httptest.Server
	html, lite         func(w http.ResponseWriter)
	htmlHits, liteHits atomic.Int32
	mu                 sync.Mutex
	forms              []url.Values
	headers            []http.Header
}

func newFake(t *testing.T) *fakeDDG {
	f := &fakeDDG{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f.mu.Lock()
		f.forms = append(f.forms, r.PostForm)
		f.headers = append(f.headers, r.Header.Clone())
		f.mu.Unlock()
		switch r.URL.Path {
		case "/html/":
			f.htmlHits.Add(1)
			f.html(w)
		case "/lite/":
			f.liteHits.Add(1)
			f.lite(w)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func serve(status int, body []byte) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

func TestSearcher(t *testing.T) {
	t.Parallel()
	hang := func(w http.ResponseWriter) { time.Sleep(time.Second) }
	liteResults, _ := duckduckgo.ParseLite(bytes.NewReader(page(t, "lite.html")))
	tests := []struct {
		name       string
		html, lite func(w http.ResponseWriter)
		max        int
		want       []domain.SearchResult
		fails      bool
		liteHits   int32
	}{
		{name: "results", html: serve(200, page(t, "results.html")), max: 10, want: wantResults},
		{name: "max respected", html: serve(200, page(t, "results.html")), max: 2, want: wantResults[:2]},
		{name: "no results is not an error", html: serve(200, page(t, "no_results.html")), max: 10, want: []domain.SearchResult(nil)},
		{name: "challenge (202) falls back to lite", html: serve(202, page(t, "challenge.html")), lite: serve(200, page(t, "lite.html")), max: 10, want: liteResults, liteHits: 1},
		{name: "challenge page with 200 falls back to lite", html: serve(200, page(t, "challenge.html")), lite: serve(200, page(t, "lite.html")), max: 10, want: liteResults, liteHits: 1},
		{name: "500 falls back to lite", html: serve(500, nil), lite: serve(200, page(t, "lite.html")), max: 1, want: liteResults[:1], liteHits: 1},
		{name: "both down", html: serve(503, nil), lite: serve(202, page(t, "challenge.html")), max: 10, fails: true, liteHits: 1},
		{name: "timeout", html: hang, lite: hang, max: 10, fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.html, f.lite = tt.html, tt.lite
			s := duckduckgo.New(duckduckgo.Config{BaseURL: f.srv.URL + "/html/", LiteURL: f.srv.URL + "/lite/", Timeout: 300 * time.Millisecond})
			got, err := s.Search(context.Background(), "machine learning", tt.max)
			if tt.fails {
				assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "err: %v", err)
				assert.NotContains(t, err.Error(), "machine", "errors do not repeat the query")
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			}
			assert.Equal(t, int32(1), f.htmlHits.Load())
			assert.Equal(t, tt.liteHits, f.liteHits.Load(), "lite is tried once, only when html is unavailable")
		})
	}
}

func TestRequestLooksLikeABrowser(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.html = serve(200, page(t, "results.html"))
	_, err := duckduckgo.New(duckduckgo.Config{BaseURL: f.srv.URL + "/html/"}).Search(context.Background(), "go generics", 5)
	require.NoError(t, err)
	assert.Equal(t, "go generics", f.forms[0].Get("q"))
	h := f.headers[0]
	assert.True(t, strings.HasPrefix(h.Get("User-Agent"), "Mozilla/5.0"))
	assert.Contains(t, h.Get("Accept"), "text/html")
	assert.NotEmpty(t, h.Get("Accept-Language"))
	assert.Equal(t, "application/x-www-form-urlencoded", h.Get("Content-Type"))
}
