package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/web"
)

const (
	testPage   = `<!doctype html><html><head><script type="module" src="/assets/index-1a2b3c.js"></script></head><body><div id="app"></div></body></html>`
	testIcon   = `<svg xmlns="http://www.w3.org/2000/svg"/>`
	jsMIME     = "text/javascript; charset=utf-8"
	htmlMIME   = "text/html; charset=utf-8"
	noWebEntry = ""
)

// testScript is big and repetitive enough that gzip makes it smaller.
var testScript = strings.Repeat("console.log('genzai');\n", 200)

func newWebServer(t *testing.T, files fstest.MapFS) *Server {
	t.Helper()
	cfg := Config{Environment: "development", MaxBodyBytes: 1000, ReadyTimeout: time.Second}
	if files != nil {
		cfg.Web = files
	}
	s, err := New(cfg, Deps{}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return s
}

func testWebFiles() fstest.MapFS {
	return fstest.MapFS{
		"index.html":             {Data: []byte(testPage)},
		"favicon.svg":            {Data: []byte(testIcon)},
		"assets/index-1a2b3c.js": {Data: []byte(testScript)},
	}
}

func serve(s *Server, method, target, acceptEncoding string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func gunzip(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	return string(out)
}

// TestWebApp: the app's page at / and at every path outside the API that
// names no file, its files with their cache lifetimes, gzip when asked,
// the app's CSP on all of them (its microphone on the page only); the API's unknown paths and missing files
// stay JSON 404s.
func TestWebApp(t *testing.T) {
	t.Parallel()
	s := newWebServer(t, testWebFiles())
	tests := []struct {
		name, method, path, encoding string
		status                       int
		contentType, cache, body     string
		gzipped                      bool
	}{
		{"the page at /", http.MethodGet, "/", "", http.StatusOK, htmlMIME, webPageCache, testPage, false},
		{"the page, gzipped", http.MethodGet, "/", "gzip, deflate, br", http.StatusOK, htmlMIME, webPageCache, testPage, true},
		{"an app route gets the page", http.MethodGet, "/chat/0b9e7f3c", "", http.StatusOK, htmlMIME, webPageCache, testPage, false},
		{"a hashed file, for good", http.MethodGet, "/assets/index-1a2b3c.js", "", http.StatusOK, jsMIME, webHashedCache, testScript, false},
		{"a hashed file, gzipped", http.MethodGet, "/assets/index-1a2b3c.js", "gzip", http.StatusOK, jsMIME, webHashedCache, testScript, true},
		{"gzip refused with q=0", http.MethodGet, "/assets/index-1a2b3c.js", "gzip;q=0, br", http.StatusOK, jsMIME, webHashedCache, testScript, false},
		{"gzip by the wildcard", http.MethodGet, "/assets/index-1a2b3c.js", "*", http.StatusOK, jsMIME, webHashedCache, testScript, true},
		{"an unhashed file is checked", http.MethodGet, "/favicon.svg", "", http.StatusOK, "image/svg+xml", webPageCache, testIcon, false},
		{"HEAD of the page", http.MethodHead, "/settings", "gzip", http.StatusOK, htmlMIME, webPageCache, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := serve(s, tt.method, tt.path, tt.encoding)
			require.Equal(t, tt.status, res.Code, res.Body.String())
			h := res.Header()
			assert.Equal(t, tt.contentType, h.Get("Content-Type"))
			assert.Equal(t, tt.cache, h.Get("Cache-Control"))
			assert.Equal(t, webContentSecurityPolicy, h.Get("Content-Security-Policy"))
			if tt.contentType == htmlMIME {
				assert.Equal(t, webPermissionsPolicy, h.Get("Permissions-Policy"), "the page may record")
			} else {
				assert.Contains(t, h.Get("Permissions-Policy"), "microphone=()", "only the page may record")
			}
			assert.Equal(t, "Accept-Encoding", h.Get("Vary"))
			assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"), "the security headers stay")
			assert.Equal(t, "DENY", h.Get("X-Frame-Options"))
			body := res.Body.Bytes()
			if tt.gzipped {
				assert.Equal(t, "gzip", h.Get("Content-Encoding"))
			} else {
				assert.Empty(t, h.Get("Content-Encoding"))
			}
			if tt.method == http.MethodHead {
				assert.Empty(t, body)
				return
			}
			assert.Equal(t, h.Get("Content-Length"), itoa(len(body)))
			if tt.gzipped {
				assert.Equal(t, tt.body, gunzip(t, body))
			} else {
				assert.Equal(t, tt.body, string(body))
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestWebAppNotFound: what is not the app keeps its answers: JSON 404s
// with the API's policy for missing files, unknown API paths and other
// methods, 405 for a known route's other methods.
func TestWebAppNotFound(t *testing.T) {
	t.Parallel()
	s := newWebServer(t, testWebFiles())
	tests := []struct {
		name, method, path string
		status             int
	}{
		{"a missing hashed file", http.MethodGet, "/assets/index-0000.js", http.StatusNotFound},
		{"a missing file", http.MethodGet, "/robots.txt", http.StatusNotFound},
		{"an unknown API path", http.MethodGet, "/api/v1/nope", http.StatusNotFound},
		{"the API's root", http.MethodGet, "/api", http.StatusNotFound},
		{"an unknown OpenAI path", http.MethodGet, "/v1/nope", http.StatusNotFound},
		{"the debug endpoints (their own port)", http.MethodGet, "/debug/pprof/", http.StatusNotFound},
		{"an unknown metrics path", http.MethodGet, "/metrics/nope", http.StatusNotFound},
		{"a POST outside the API", http.MethodPost, "/chat", http.StatusNotFound},
		{"a known route's other method", http.MethodGet, "/api/v1/chat", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := serve(s, tt.method, tt.path, "gzip")
			assert.Equal(t, tt.status, res.Code)
			assert.Equal(t, "application/json", strings.Split(res.Header().Get("Content-Type"), ";")[0], res.Body.String())
			assert.Equal(t, contentSecurityPolicy, res.Header().Get("Content-Security-Policy"))
			assert.Equal(t, "no-store", res.Header().Get("Cache-Control"))
			assert.True(t, json.Valid(res.Body.Bytes()), res.Body.String())
		})
	}
}

// TestWebAppDisabled: with WEB_UI_ENABLED=false, / sends browsers to the
// documentation as before the app, and other paths answer 404.
func TestWebAppDisabled(t *testing.T) {
	t.Parallel()
	s := newWebServer(t, nil)
	res := serve(s, http.MethodGet, "/", "")
	assert.Equal(t, http.StatusFound, res.Code)
	assert.Equal(t, "/docs", res.Header().Get("Location"))
	for _, p := range []string{"/chat", "/assets/index-1a2b3c.js", "/favicon.svg"} {
		res := serve(s, http.MethodGet, p, "")
		assert.Equal(t, http.StatusNotFound, res.Code, p)
		assert.True(t, json.Valid(res.Body.Bytes()), p)
	}
}

func TestWebAppNeedsItsPage(t *testing.T) {
	t.Parallel()
	_, err := New(Config{Web: fstest.MapFS{"assets/a.js": {Data: []byte("x")}}}, Deps{}, slog.New(slog.DiscardHandler))
	assert.ErrorContains(t, err, "no index.html")
}

// TestWebAppPolicy: the app's policy allows this origin only (with data:
// images and blob: audio, which the app makes itself), and nothing inline.
func TestWebAppPolicy(t *testing.T) {
	t.Parallel()
	directives := map[string]string{}
	for d := range strings.SplitSeq(webContentSecurityPolicy, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	assert.Equal(t, map[string]string{
		"default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:",
		"media-src": "'self' blob:", "connect-src": "'self'", "font-src": "'self'", "object-src": "'none'", "frame-ancestors": "'none'",
		"base-uri": "'none'", "form-action": "'self'",
	}, directives)
}

// TestWebAppPermissions: the app's page may use the microphone (dictation),
// itself only; every other feature stays off, as on every other answer.
// The app's other files keep every answer's policy: an SVG opened on its
// own is a document too, and none of them records.
func TestWebAppPermissions(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Environment: "development", MaxBodyBytes: 1000, ReadyTimeout: time.Second, Web: fstest.MapFS{
		"index.html":          {Data: []byte("<!doctype html>")},
		"favicon.svg":         {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		"assets/index-1a2.js": {Data: []byte("console.log(1)")},
	}}, Deps{}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	api := serve(s, http.MethodGet, "/health", "").Header().Get("Permissions-Policy")
	require.NotEmpty(t, api)
	for _, p := range []string{"/", "/index.html", "/chat"} {
		page := serve(s, http.MethodGet, p, "").Header().Get("Permissions-Policy")
		assert.Equal(t, strings.Replace(api, "microphone=()", "microphone=(self)", 1), page, p)
		assert.NotEqual(t, api, page, p)
	}
	for _, p := range []string{"/favicon.svg", "/assets/index-1a2.js"} {
		res := serve(s, http.MethodGet, p, "")
		require.Equal(t, http.StatusOK, res.Code, p)
		assert.Equal(t, api, res.Header().Get("Permissions-Policy"), p)
	}
}

// TestWebBundle: the committed build (web/dist) loads only files of this
// server, runs no inline script or style, and each file it names is served
// for good under its hashed name.
func TestWebBundle(t *testing.T) {
	t.Parallel()
	dist, err := web.Dist()
	require.NoError(t, err)
	s, err := New(Config{Environment: "development", MaxBodyBytes: 1000, ReadyTimeout: time.Second, Web: dist}, Deps{}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)

	res := serve(s, http.MethodGet, "/", "")
	require.Equal(t, http.StatusOK, res.Code)
	page, err := goquery.NewDocumentFromReader(res.Body)
	require.NoError(t, err)
	assert.Zero(t, page.Find("style, [style]").Length(), "no inline styles")
	assert.Zero(t, page.Find("script:not([src])").Length(), "no inline scripts")
	var hashed []string
	page.Find("script[src], link[href]").Each(func(_ int, el *goquery.Selection) {
		ref := el.AttrOr("src", el.AttrOr("href", noWebEntry))
		require.True(t, strings.HasPrefix(ref, "/"), "a file of this server: %s", ref)
		got := serve(s, http.MethodGet, ref, "gzip")
		require.Equal(t, http.StatusOK, got.Code, ref)
		if strings.HasPrefix(ref, "/"+webHashedDir) {
			hashed = append(hashed, ref)
			assert.Equal(t, webHashedCache, got.Header().Get("Cache-Control"), ref)
			assert.Equal(t, "gzip", got.Header().Get("Content-Encoding"), ref)
		}
	})
	assert.Len(t, hashed, 2, "the script and the style sheet: %v", hashed)
}
