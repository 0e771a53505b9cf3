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

// wantResults are the results of testdata/results.html: no ads (by class,
// badge or y.js link), no duplicates (fragment, trailing slash), no
// non-web or untitled links; links unwrapped, entities decoded.
var wantResults = []domain.SearchResult{
	{Title: "Machine learning - Wikipedia", URL: "https://en.wikipedia.org/wiki/Machine_learning",
		Snippet: "Machine learning (ML) is a field of study in artificial intelligence concerned with the development of statistical algorithms that can learn from data & generalize to unseen data."},
	{Title: "What Is Machine Learning (ML)? | IBM", URL: "https://www.ibm.com/think/topics/machine-learning?ref=ddg&lang=en",
		Snippet: `Machine learning is a branch of AI — it focuses on using data and algorithms to "imitate" the way humans learn.`},
	{Title: "Machine Learning Crash Course – Google for Developers", URL: "https://developers.google.com/machine-learning/crash-course",
		Snippet: "A fast-paced, practical introduction to machine learning."},
	{Title: "What Is Machine Learning? Definition, Types, and Examples", URL: "https://www.coursera.org/articles/what-is-machine-learning",
		Snippet: "Machine learning is a common type of artificial intelligence."},
	{Title: "What's new in machine learning …", URL: "http://news.example.org/ml?a=1&b=%C3%A9",
		Snippet: "Café <notes> on ML tools."},
}

// wantLite are the results of testdata/lite.html.
var wantLite = []domain.SearchResult{
	{Title: "Machine learning - Wikipedia", URL: "https://en.wikipedia.org/wiki/Machine_learning", Snippet: "Machine learning (ML) is a field of study in artificial intelligence."},
	{Title: "What is Machine Learning? | IBM", URL: "https://www.ibm.com/think/topics/machine-learning", Snippet: "A branch of AI & computer science."},
	{Title: "scikit-learn: machine learning in Python", URL: "https://scikit-learn.org/stable/"},
}

func TestParseHTML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		page    []byte
		want    []domain.SearchResult
		wantErr bool
	}{
		{name: "results", page: page(t, "results.html"), want: wantResults},
		{name: "no results", page: page(t, "no_results.html"), want: []domain.SearchResult{}},
		{name: "no results notice without its class", page: []byte(`<div id="links" class="results"><div>No results.</div></div>`), want: []domain.SearchResult{}},
		{name: "challenge page is never read as results", page: page(t, "challenge.html"), wantErr: true},
		{name: "challenge wording without results", page: []byte(`<p>Unfortunately, bots use DuckDuckGo too.</p>`), wantErr: true},
		{name: "unrecognised page is no empty answer", page: []byte(`<html><body><p>Service update</p></body></html>`), wantErr: true},
		{name: "empty input", page: nil, wantErr: true},
		{name: "only ads", page: []byte(`<div class="result result--ad"><a class="result__a" href="https://duckduckgo.com/y.js?x=1">Ad</a></div>`), want: []domain.SearchResult{}},
		{
			name: "a result may quote the challenge wording",
			page: []byte(`<div class="result web-result"><a class="result__a" href="https://news.example/bots">Bots</a><a class="result__snippet">Unfortunately, bots use DuckDuckGo too.</a></div>`),
			want: []domain.SearchResult{{Title: "Bots", URL: "https://news.example/bots", Snippet: "Unfortunately, bots use DuckDuckGo too."}},
		},
		{
			name: "nested and overlapping blocks are read once",
			page: []byte(`<div class="results_links"><div class="result web-result"><a class="result__a" href="https://a.example/">A</a></div></div><div class="web-result"><a class="result__a" href="https://b.example/x">B</a></div>`),
			want: []domain.SearchResult{{Title: "A", URL: "https://a.example/"}, {Title: "B", URL: "https://b.example/x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := duckduckgo.ParseHTML(bytes.NewReader(tt.page))
			if tt.wantErr {
				assert.Error(t, err)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseLite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		page    []byte
		want    []domain.SearchResult
		wantErr bool
	}{
		{name: "results", page: page(t, "lite.html"), want: wantLite},
		{name: "no results", page: []byte(`<table><tr><td>No results.</td></tr></table>`), want: []domain.SearchResult{}},
		{name: "challenge", page: page(t, "challenge.html"), wantErr: true},
		{name: "html endpoint page is not a lite page", page: page(t, "results.html"), wantErr: true},
		{name: "unrecognised", page: []byte(`<table><tr><td>Maintenance</td></tr></table>`), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := duckduckgo.ParseLite(bytes.NewReader(tt.page))
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestUnwrap(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, href, want string }{
		{"scheme-relative redirect", "//duckduckgo.com/l/?uddg=https%3A%2F%2Fexample.com%2Fa%3Fb%3D1&rut=x", "https://example.com/a?b=1"},
		{"https redirect, extra parameters", "https://duckduckgo.com/l/?uddg=http%3A%2F%2Fexample.com%2F&rut=x&extra=1", "http://example.com/"},
		{"relative redirect, parameter first", "/l/?kh=-1&uddg=https%3A%2F%2Fexample.org%2Fpath", "https://example.org/path"},
		{"subdomain redirect", "https://html.duckduckgo.com/l/?uddg=https%3A%2F%2Fexample.org%2F", "https://example.org/"},
		{"surrounding space", "  //duckduckgo.com/l/?uddg=https%3A%2F%2Fexample.org%2F  ", "https://example.org/"},
		{"direct link", "https://example.net/direct", "https://example.net/direct"},
		{"direct link with fragment kept", "https://example.net/a#b", "https://example.net/a#b"},
		{"nested redirect", "//duckduckgo.com/l/?uddg=%2F%2Fduckduckgo.com%2Fl%2F%3Fuddg%3Dhttps%253A%252F%252Fx.io", "https://x.io"},
		{"look-alike host is not unwrapped", "https://notduckduckgo.com/l/?uddg=https%3A%2F%2Fx.io", "https://notduckduckgo.com/l/?uddg=https%3A%2F%2Fx.io"},
		{"redirect without target", "//duckduckgo.com/l/?rut=only", ""},
		{"redirect to javascript", "//duckduckgo.com/l/?uddg=javascript%3Aalert(1)", ""},
		{"redirect to ftp", "//duckduckgo.com/l/?uddg=ftp%3A%2F%2Fexample.com%2F", ""},
		{"ad click", "https://duckduckgo.com/y.js?ad_domain=x", ""},
		{"scheme-relative ad click", "//duckduckgo.com/y.js?ad_domain=x&u3=https%3A%2F%2Fx.io", ""},
		{"relative link", "/settings", ""},
		{"javascript", "javascript:alert(1)", ""},
		{"mailto", "mailto:a@example.com", ""},
		{"no host", "https:///path", ""},
		{"bad escape", "/l/?uddg=%zz", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, duckduckgo.Unwrap(tt.href))
		})
	}
}

// FuzzParse checks that no page makes either parser (HTML or lite) panic
// or yield a result without a title, with a non-web URL, with whitespace
// left uncollapsed, or twice. Seeds: the testdata pages, and the corpus in
// testdata/fuzz/FuzzParse (pages cut short, nested and odd markup).
func FuzzParse(f *testing.F) {
	for _, name := range []string{"results.html", "no_results.html", "challenge.html", "lite.html"} {
		f.Add(page(f, name))
	}
	f.Add([]byte(`<div class="result"><a class="result__a" href="/l/?uddg=%zz">x</a></div>`))
	f.Add([]byte(`<table><tr><td><a class="result-link" href="//duckduckgo.com/l/?uddg=data%3Atext%2Fhtml%2Cx">x</a></td></tr></table>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func(io.Reader) ([]domain.SearchResult, error){duckduckgo.ParseHTML, duckduckgo.ParseLite} {
			rs, err := parse(bytes.NewReader(data))
			if err != nil {
				continue
			}
			seen := map[string]bool{}
			for _, r := range rs {
				if r.Title == "" || r.URL == "" || r.Title != collapsed(r.Title) || r.Snippet != collapsed(r.Snippet) {
					t.Fatalf("bad title, snippet or URL: %+v", r)
				}
				u, err := url.Parse(r.URL)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					t.Fatalf("not a web URL: %q", r.URL)
				}
				// Duplicates differ at most in the host's case, the fragment and a trailing slash.
				k := *u
				k.Host, k.Fragment, k.RawFragment = strings.ToLower(k.Host), "", ""
				k.Path, k.RawPath = strings.TrimSuffix(k.Path, "/"), strings.TrimSuffix(k.RawPath, "/")
				key := k.String()
				if seen[key] {
					t.Fatalf("duplicate: %q", r.URL)
				}
				seen[key] = true
			}
		}
	})
}

// collapsed is s with runs of white space made one space and trimmed, as
// the parsers give titles and snippets.
func collapsed(s string) string { return strings.Join(strings.Fields(s), " ") }

// fakeDDG is a DuckDuckGo stand-in serving the HTML endpoint at /html/ and
// the lite endpoint at /lite/, each with its own scripted answer, and
// recording the requests.
type fakeDDG struct {
	srv        *httptest.Server
	html, lite http.HandlerFunc

	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, path string
	header       http.Header
	form         url.Values
}

func newFake(t *testing.T, html, lite http.HandlerFunc) *fakeDDG {
	t.Helper()
	f := &fakeDDG{html: html, lite: lite}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), form: r.PostForm})
		f.mu.Unlock()
		h := map[string]http.HandlerFunc{"/html/": f.html, "/lite/": f.lite}[r.URL.Path]
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// hits counts the requests to path.
func (f *fakeDDG) hits(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.reqs {
		if r.path == path {
			n++
		}
	}
	return n
}

func (f *fakeDDG) searcher(timeout time.Duration) *duckduckgo.Searcher {
	return duckduckgo.New(duckduckgo.Config{BaseURL: f.srv.URL + "/html/", LiteURL: f.srv.URL + "/lite/", Timeout: timeout})
}

func serve(status int, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// hang answers only after the client has given up.
func hang(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
}

func TestSearcher(t *testing.T) {
	t.Parallel()
	const query = "ada lovelace 221B baker street"
	tests := []struct {
		name       string
		html, lite http.HandlerFunc
		max        int
		want       []domain.SearchResult
		// reason is why the search fails; "": it does not.
		reason   domain.SearchFailure
		htmlHits int
		liteHits int
	}{
		{name: "results", html: serve(200, page(t, "results.html")), max: 10, want: wantResults, htmlHits: 1},
		{name: "max respected", html: serve(200, page(t, "results.html")), max: 2, want: wantResults[:2], htmlHits: 1},
		{name: "max zero asks nothing", html: serve(200, page(t, "results.html")), max: 0, want: []domain.SearchResult{}},
		{name: "no results is not an error", html: serve(200, page(t, "no_results.html")), max: 10, want: []domain.SearchResult{}, htmlHits: 1},
		{name: "challenge (202) falls back to lite", html: serve(202, page(t, "challenge.html")), lite: serve(200, page(t, "lite.html")), max: 10, want: wantLite, htmlHits: 1, liteHits: 1},
		{name: "challenge page with 200 falls back to lite", html: serve(200, page(t, "challenge.html")), lite: serve(200, page(t, "lite.html")), max: 10, want: wantLite, htmlHits: 1, liteHits: 1},
		{name: "challenge on both: blocked", html: serve(202, page(t, "challenge.html")), lite: serve(200, page(t, "challenge.html")), max: 10, reason: domain.SearchBlocked, htmlHits: 1, liteHits: 1},
		{name: "403 and 429: blocked", html: serve(403, nil), lite: serve(429, nil), max: 10, reason: domain.SearchBlocked, htmlHits: 1, liteHits: 1},
		{name: "a block outweighs an error status", html: serve(500, nil), lite: serve(202, page(t, "challenge.html")), max: 10, reason: domain.SearchBlocked, htmlHits: 1, liteHits: 1},
		{name: "unrecognised pages: bad response", html: serve(200, []byte("<html><body>Hello</body></html>")), lite: serve(200, []byte("<p>changed</p>")), max: 10, reason: domain.SearchBadResponse, htmlHits: 1, liteHits: 1},
		{name: "500 falls back to lite", html: serve(500, nil), lite: serve(200, page(t, "lite.html")), max: 1, want: wantLite[:1], htmlHits: 1, liteHits: 1},
		{name: "unrecognised page falls back to lite", html: serve(200, []byte("<html><body>Hello</body></html>")), lite: serve(200, page(t, "lite.html")), max: 10, want: wantLite, htmlHits: 1, liteHits: 1},
		{name: "error statuses on both: bad response", html: serve(503, nil), lite: serve(500, nil), max: 10, reason: domain.SearchBadResponse, htmlHits: 1, liteHits: 1},
		{name: "timeout, with no second try", html: hang, lite: hang, max: 10, reason: domain.SearchTimeout, htmlHits: 1},
		{name: "a timeout on lite outweighs an error status", html: serve(500, nil), lite: hang, max: 10, reason: domain.SearchTimeout, htmlHits: 1, liteHits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tt.html, tt.lite)
			start := time.Now()
			got, err := f.searcher(200*time.Millisecond).Search(context.Background(), query, tt.max)
			assert.Less(t, time.Since(start), 2*time.Second, "bounded by the timeout")
			if tt.reason != "" {
				require.Error(t, err)
				assertUnavailable(t, err, tt.reason)
				assert.Equal(t, 1, strings.Count(err.Error(), "html endpoint: "), "each cause once: %v", err)
				assert.Equal(t, tt.liteHits, strings.Count(err.Error(), "lite endpoint: "), "each cause once: %v", err)
				assert.NotContains(t, err.Error(), "lovelace", "errors do not repeat the query")
				assert.NotContains(t, err.Error(), f.srv.URL, "errors do not carry the URL")
				assert.Nil(t, got)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			}
			assert.Equal(t, tt.htmlHits, f.hits("/html/"))
			assert.Equal(t, tt.liteHits, f.hits("/lite/"), "lite is tried once, only when html is unavailable")
		})
	}
}

func TestSearcherTransportError(t *testing.T) {
	t.Parallel()
	f := newFake(t, nil, nil)
	f.srv.Close() // nothing listens any more
	_, err := f.searcher(time.Second).Search(context.Background(), "q", 5)
	assertUnavailable(t, err, domain.SearchUnreachable)
}

// assertUnavailable checks a failed search's error: its code, its reason
// and the reason in words, and the cause said once.
func assertUnavailable(t *testing.T, err error, reason domain.SearchFailure) {
	t.Helper()
	var su *domain.SearchUnavailableError
	require.ErrorAs(t, err, &su)
	assert.Equal(t, reason, su.Reason, "err: %v", err)
	assert.Equal(t, domain.CodeSearchUnavailable, domain.ErrorCode(err))
	assert.Equal(t, su.PublicMessage(), domain.ErrorMessage(err))
	assert.NotContains(t, err.Error(), "Web search temporarily unavailable", "the log line says the causes, not the message again")
}

func TestSearcherCallerCancels(t *testing.T) {
	t.Parallel()
	f := newFake(t, hang, serve(200, page(t, "lite.html")))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := f.searcher(5*time.Second).Search(ctx, "q", 5)
	assertUnavailable(t, err, domain.SearchTimeout)
	assert.Zero(t, f.hits("/lite/"))
}

func TestRequestLooksLikeABrowser(t *testing.T) {
	t.Parallel()
	f := newFake(t, serve(500, nil), serve(200, page(t, "lite.html")))
	_, err := f.searcher(time.Second).Search(context.Background(), "go generics & más", 5)
	require.NoError(t, err)
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Len(t, f.reqs, 2)
	for i, path := range []string{"/html/", "/lite/"} {
		r := f.reqs[i]
		assert.Equal(t, http.MethodPost, r.method)
		assert.Equal(t, path, r.path)
		assert.Equal(t, "go generics & más", r.form.Get("q"))
		assert.Equal(t, "wt-wt", r.form.Get("kl"))
		assert.Equal(t, "application/x-www-form-urlencoded", r.header.Get("Content-Type"))
		assert.True(t, strings.HasPrefix(r.header.Get("User-Agent"), "Mozilla/5.0 ("), r.header.Get("User-Agent"))
		assert.Contains(t, r.header.Get("Accept"), "text/html")
		assert.Equal(t, "en-US,en;q=0.9", r.header.Get("Accept-Language"))
		assert.Equal(t, f.srv.URL+"/", r.header.Get("Referer"))
	}
}
