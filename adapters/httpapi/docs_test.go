package httpapi

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/api"
)

func newDocsServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(Config{Environment: "development", MaxBodyBytes: 1000, ReadyTimeout: time.Second}, Deps{}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return s
}

func get(s *Server, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestDocsPageLoadsOnlyLocalFiles(t *testing.T) {
	t.Parallel()
	s := newDocsServer(t)
	res := get(s, "/docs")
	require.Equal(t, http.StatusOK, res.Code)
	assert.Equal(t, "text/html; charset=utf-8", res.Header().Get("Content-Type"))
	assert.Equal(t, "no-store", res.Header().Get("Cache-Control"))

	page, err := goquery.NewDocumentFromReader(res.Body)
	require.NoError(t, err)
	assert.Zero(t, page.Find("style, [style]").Length(), "no inline styles")
	assert.Zero(t, page.Find("script:not([src])").Length(), "no inline scripts: the policy would block them")
	page.Find("*").Each(func(_ int, el *goquery.Selection) {
		for _, a := range el.Nodes[0].Attr {
			assert.False(t, strings.HasPrefix(a.Key, "on"), "no inline event handler %s", a.Key)
		}
	})

	var loaded []string
	page.Find("script[src], link[href]").Each(func(_ int, el *goquery.Selection) {
		ref := el.AttrOr("src", el.AttrOr("href", ""))
		if ref == "data:," {
			return // the empty favicon, so that browsers ask for none
		}
		loaded = append(loaded, ref)
	})
	assert.ElementsMatch(t, []string{"/docs/swagger-ui.css", "/docs/docs.css", "/docs/swagger-ui-bundle.js", "/docs/docs.js"}, loaded)
	for _, ref := range loaded {
		assert.Regexp(t, `^/docs/[^/]+$`, ref, "a file of this server")
		assert.Equal(t, http.StatusOK, get(s, ref).Code, ref)
	}
	page.Find("a[href]").Each(func(_ int, el *goquery.Selection) {
		href := el.AttrOr("href", "")
		assert.Equal(t, http.StatusOK, get(s, href).Code, "link %s", href)
	})

	init, err := docsUI.ReadFile("docsui/docs.js")
	require.NoError(t, err)
	assert.Contains(t, string(init), `url: "/openapi.json"`, "Swagger UI loads the spec of this server")
	assert.NotRegexp(t, regexp.MustCompile(`https?://`), string(init), "and nothing from elsewhere")
}

func TestDocsAssets(t *testing.T) {
	t.Parallel()
	s := newDocsServer(t)
	tests := []struct {
		asset, file, contentType string
	}{
		{"docs.js", "docsui/docs.js", "text/javascript; charset=utf-8"},
		{"docs.css", "docsui/docs.css", "text/css; charset=utf-8"},
		{"swagger-ui-bundle.js", "docsui/swagger-ui/swagger-ui-bundle.js", "text/javascript; charset=utf-8"},
		{"swagger-ui.css", "docsui/swagger-ui/swagger-ui.css", "text/css; charset=utf-8"},
		{"LICENSE", "docsui/swagger-ui/LICENSE", "text/plain; charset=utf-8"},
		{"NOTICE", "docsui/swagger-ui/NOTICE", "text/plain; charset=utf-8"},
		{"swagger-ui-bundle.js.LICENSE.txt", "docsui/swagger-ui/swagger-ui-bundle.js.LICENSE.txt", "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.asset, func(t *testing.T) {
			t.Parallel()
			res := get(s, "/docs/"+tt.asset)
			require.Equal(t, http.StatusOK, res.Code)
			assert.Equal(t, tt.contentType, res.Header().Get("Content-Type"))
			assert.Equal(t, "public, max-age=3600", res.Header().Get("Cache-Control"))
			assert.Equal(t, "nosniff", res.Header().Get("X-Content-Type-Options"))
			want, err := docsUI.ReadFile(tt.file)
			require.NoError(t, err)
			assert.Equal(t, want, res.Body.Bytes())
			assert.Equal(t, len(want), int(res.Result().ContentLength))
		})
	}

	// The table, the spec's enum and the served files are the same list.
	doc, err := api.GetSpec()
	require.NoError(t, err)
	var enum []string
	for _, v := range doc.Paths.Find("/docs/{asset}").Get.Parameters.GetByInAndName("path", "asset").Schema.Value.Enum {
		enum = append(enum, v.(string))
	}
	var served, tabled []string
	for a := range docsAssetFiles() {
		served = append(served, string(a))
	}
	for _, tt := range tests {
		tabled = append(tabled, tt.asset)
	}
	assert.ElementsMatch(t, enum, served)
	assert.ElementsMatch(t, enum, tabled)
}

func TestDocsRoutesOutsideTheFiles(t *testing.T) {
	t.Parallel()
	s := newDocsServer(t)

	res := get(s, "/docs/")
	assert.Equal(t, http.StatusMovedPermanently, res.Code)
	assert.Equal(t, "/docs", res.Header().Get("Location"))

	// The name is looked up in a table, never used as a path into the
	// embedded files.
	for _, path := range []string{"/docs/nope.js", "/docs/index.html", "/docs/VERSION", "/docs/vendor.sh",
		"/docs/..%2fserver.go", "/docs/swagger-ui/LICENSE", "/docs/docsui/docs.js"} {
		res := get(s, path)
		assert.Equal(t, http.StatusBadRequest, res.Code, path)
		var body errorBody
		require.NoError(t, json.Unmarshal(res.Body.Bytes(), &body), path)
		assert.Equal(t, "invalid_request", body.Code, path)
	}
}

func TestContentSecurityPolicyByRoute(t *testing.T) {
	t.Parallel()
	s := newDocsServer(t)
	tests := []struct {
		path   string
		status int
		policy string
	}{
		{"/docs", http.StatusOK, docsContentSecurityPolicy},
		{"/docs/", http.StatusMovedPermanently, docsContentSecurityPolicy},
		{"/docs/docs.js", http.StatusOK, docsContentSecurityPolicy},
		{"/docs/swagger-ui.css", http.StatusOK, docsContentSecurityPolicy},
		{"/health", http.StatusOK, contentSecurityPolicy},
		{"/openapi.json", http.StatusOK, contentSecurityPolicy},
		{"/openapi.yaml", http.StatusOK, contentSecurityPolicy},
		{"/docsx", http.StatusNotFound, contentSecurityPolicy},
		{"/api/v1/docs", http.StatusNotFound, contentSecurityPolicy},
		{"/nope", http.StatusNotFound, contentSecurityPolicy},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			res := get(s, tt.path)
			require.Equal(t, tt.status, res.Code)
			assert.Equal(t, tt.policy, res.Header().Get("Content-Security-Policy"))
			// The other headers are the same everywhere.
			assert.Equal(t, "DENY", res.Header().Get("X-Frame-Options"))
			assert.Equal(t, "nosniff", res.Header().Get("X-Content-Type-Options"))
			assert.Equal(t, "no-referrer", res.Header().Get("Referrer-Policy"))
		})
	}
	assert.Equal(t, "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'", contentSecurityPolicy, "the strict policy is unchanged")
}

func TestOpenAPIYAMLIsTheFile(t *testing.T) {
	t.Parallel()
	res := get(newDocsServer(t), "/openapi.yaml")
	require.Equal(t, http.StatusOK, res.Code)
	assert.Equal(t, "application/yaml", res.Header().Get("Content-Type"))
	want, err := os.ReadFile("../../api/openapi.yaml")
	require.NoError(t, err)
	assert.Equal(t, want, res.Body.Bytes())
}

func TestOpenAPIJSONIsTheSpec(t *testing.T) {
	t.Parallel()
	res := get(newDocsServer(t), "/openapi.json")
	require.Equal(t, http.StatusOK, res.Code)
	assert.Equal(t, "application/json", res.Header().Get("Content-Type"))
	body := res.Body.String()
	assert.Contains(t, body, "<access_token>", "not HTML-escaped")
	assert.Less(t, strings.Index(body, `"/health"`), strings.Index(body, `"/openapi.yaml"`), "paths in the order written")
	assert.Less(t, strings.Index(body, `"password":{"summary"`), strings.Index(body, `"emailOnly":{"summary"`), "login's first example stays first")

	load := func(data []byte) *openapi3.T {
		t.Helper()
		doc, err := openapi3.NewLoader().LoadFromData(data)
		require.NoError(t, err)
		require.NoError(t, doc.Validate(context.Background()))
		return doc
	}
	asJSON := func(doc *openapi3.T) string {
		t.Helper()
		raw, err := json.Marshal(doc)
		require.NoError(t, err)
		return string(raw)
	}
	served := load(res.Body.Bytes())
	assert.Equal(t, "/", served.Servers[0].URL, "Try it out calls the server that served the spec")
	assert.JSONEq(t, asJSON(load(api.SpecYAML())), asJSON(served), "the YAML file, as JSON")

	// The spec oapi-codegen embedded is the same document, except that it
	// capitalized the operation ids into Go names.
	embedded, err := api.GetSpec()
	require.NoError(t, err)
	for _, item := range served.Paths.Map() {
		for _, op := range item.Operations() {
			op.OperationID = strings.ToUpper(op.OperationID[:1]) + op.OperationID[1:]
		}
	}
	assert.JSONEq(t, asJSON(embedded), asJSON(served))
}

func TestYAMLToJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, json string
	}{
		{"values as written", "a: 3.0.3\nb: 1\nc: 99.82\nd: null\ne: [x, true]\nf: \"2025-12-26T00:00:00Z\"\n", `{"a":"3.0.3","b":1,"c":99.82,"d":null,"e":["x",true],"f":"2025-12-26T00:00:00Z"}`},
		{"keys in document order", "password: 1\nemailOnly: 2\n", `{"password":1,"emailOnly":2}`},
		{"unquoted timestamps stay strings", "t: 2025-12-26T00:00:00Z\n", `{"t":"2025-12-26T00:00:00Z"}`},
		{"quoted status codes", "responses:\n  \"200\": {description: ok}\n", `{"responses":{"200":{"description":"ok"}}}`},
		{"block text", "d: |\n  <a> & \"b\"\n", `{"d":"<a> & \"b\"\n"}`},
		{"anchors", "a: &x {k: v}\nb: *x\n", `{"a":{"k":"v"},"b":{"k":"v"}}`},
		{"empty collections", "a: {}\nb: []\n", `{"a":{},"b":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := yamlToJSON([]byte(tt.yaml))
			require.NoError(t, err)
			assert.Equal(t, tt.json, string(got))
		})
	}
	for _, bad := range []string{"responses:\n  200: {description: ok}\n", "a: [\n"} {
		_, err := yamlToJSON([]byte(bad))
		assert.Error(t, err, bad)
	}
}

// TestVendoredSwaggerUIIsThePinnedVersion catches a version bump in
// vendor.sh that was not followed by running it.
func TestVendoredSwaggerUIIsThePinnedVersion(t *testing.T) {
	t.Parallel()
	script, err := os.ReadFile("docsui/vendor.sh")
	require.NoError(t, err)
	pinned := regexp.MustCompile(`(?m)^VERSION=(\S+)$`).FindSubmatch(script)
	require.NotNil(t, pinned, "vendor.sh pins VERSION")
	vendored, err := os.ReadFile("docsui/swagger-ui/VERSION")
	require.NoError(t, err)
	assert.Equal(t, string(pinned[1]), strings.TrimSpace(string(vendored)))
}

// The big files go out compressed to clients that accept it, and as they
// are to the rest; API answers are never compressed here.
func TestDocsCompression(t *testing.T) {
	s := newDocsServer(t)
	bundle, err := docsUI.ReadFile("docsui/swagger-ui/swagger-ui-bundle.js")
	require.NoError(t, err)
	tests := []struct {
		name, path, accept string
		gzipped            bool
	}{
		{"bundle, gzip accepted", "/docs/swagger-ui-bundle.js", "gzip", true},
		{"bundle, nothing accepted", "/docs/swagger-ui-bundle.js", "", false},
		{"spec as JSON", "/openapi.json", "gzip, br", true},
		{"health is not compressed", "/health", "gzip", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.accept != "" {
				req.Header.Set("Accept-Encoding", tc.accept)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code)
			if !tc.gzipped {
				assert.Empty(t, rec.Header().Get("Content-Encoding"))
				if tc.path == "/docs/swagger-ui-bundle.js" {
					assert.Equal(t, bundle, rec.Body.Bytes())
				}
				return
			}
			assert.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
			compressed := rec.Body.Len()
			zr, err := gzip.NewReader(rec.Body)
			require.NoError(t, err)
			plain, err := io.ReadAll(zr)
			require.NoError(t, err)
			if tc.path == "/docs/swagger-ui-bundle.js" {
				assert.Equal(t, bundle, plain)
				assert.Less(t, compressed, len(bundle)/2, "compressed")
			} else {
				assert.True(t, json.Valid(plain))
			}
		})
	}
}
