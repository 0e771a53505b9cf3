package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/genzai/genzai/api"
)

// webContentSecurityPolicy is the web app's policy: scripts, styles,
// images and requests from this origin only, nothing inline, no frames, no
// plugins. The app sets styles through the DOM only, which the policy does
// not govern. Generated pictures arrive as data: images and speech as
// audio the app plays from a blob: URL it made, hence those two schemes.
const webContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// webPermissionsPolicy is the web app page's Permissions-Policy: every
// answer's (edge.go) but for the microphone, which the page may use
// itself, for dictation (the browser still asks the user). Only the page
// gets it: the app's other files (an SVG opened on its own is a document
// too) keep every answer's.
const webPermissionsPolicy = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), microphone=(self), payment=(), usb=()"

// Cache lifetimes of the web app's files. A hashed name changes with its
// content, so browsers may keep those for good; the page (which names
// them) and the few unhashed files are checked at every visit.
const (
	webHashedCache = "public, max-age=31536000, immutable"
	webPageCache   = "no-cache"
)

// webHashedDir holds the files whose names carry a content hash (Vite's
// assets directory).
const webHashedDir = "assets/"

// webApp is the web app's files, read and compressed once at start.
type webApp struct {
	page  webFile
	files map[string]webFile // by URL path ("/assets/index-1a2b3c.js")
}

// webFile is one file of the web app, as is and gzipped (nil when
// compression would not make it smaller).
type webFile struct {
	contentType  string
	cacheControl string
	body         []byte
	gzipped      []byte
	// page: the app's page, the one document that may use the microphone.
	page bool
}

// newWebApp reads every file of fsys. It needs index.html at the root.
func newWebApp(fsys fs.FS) (*webApp, error) {
	w := &webApp{files: map[string]webFile{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		f := webFile{contentType: webContentType(name), cacheControl: webPageCache, body: body}
		if strings.HasPrefix(name, webHashedDir) {
			f.cacheControl = webHashedCache
		}
		if f.gzipped, err = gzipSmaller(body); err != nil {
			return err
		}
		w.files["/"+name] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read web app: %w", err)
	}
	page, ok := w.files["/index.html"]
	if !ok {
		return nil, fmt.Errorf("read web app: no index.html (build it with make web)")
	}
	page.page = true
	w.page = page
	w.files["/index.html"] = page
	return w, nil
}

// gzipSmaller is body gzipped, or nil when that is not smaller (images).
func gzipSmaller(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if buf.Len() >= len(body) {
		return nil, nil
	}
	return buf.Bytes(), nil
}

// webContentType is a web app file's Content-Type, from a fixed table
// rather than the machine's MIME tables.
func webContentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".json", ".webmanifest":
		return "application/json"
	case ".woff2":
		return "font/woff2"
	default:
		return "application/octet-stream"
	}
}

// webAnswer is a web app file sent to one client: gzipped when it accepts
// gzip and that is smaller; headers only for a HEAD request.
type webAnswer struct {
	f    webFile
	gzip bool
	head bool
}

func newWebAnswer(f webFile, r *http.Request) webAnswer {
	return webAnswer{f: f, gzip: acceptsGzip(r), head: r.Method == http.MethodHead}
}

func (a webAnswer) write(w http.ResponseWriter) error {
	h := w.Header()
	body := a.f.body
	if a.gzip && a.f.gzipped != nil {
		body = a.f.gzipped
		h.Set(echo.HeaderContentEncoding, "gzip")
	}
	h.Set(echo.HeaderContentType, a.f.contentType)
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	h.Set("Cache-Control", a.f.cacheControl)
	h.Set("Content-Security-Policy", webContentSecurityPolicy)
	if a.f.page {
		h.Set("Permissions-Policy", webPermissionsPolicy)
	}
	h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	w.WriteHeader(http.StatusOK)
	if a.head {
		return nil
	}
	_, err := w.Write(body)
	return err
}

// VisitGetRootResponse implements api.GetRootResponseObject.
func (a webAnswer) VisitGetRootResponse(w http.ResponseWriter) error { return a.write(w) }

// acceptsGzip reports whether a request's Accept-Encoding allows gzip:
// named, or "*", without q=0.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values(echo.HeaderAcceptEncoding) {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.TrimSpace(coding)
			if !strings.EqualFold(coding, "gzip") && coding != "*" {
				continue
			}
			q, found := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
			if !found {
				return true
			}
			w, err := strconv.ParseFloat(q, 64)
			return err == nil && w > 0
		}
	}
	return false
}

// webRequestKey holds the request of GET / in its context: the page's
// answer depends on Accept-Encoding.
type webRequestKey struct{}

// rootPage is the answer of GET / when the web app is on.
func (s *Server) rootPage(ctx context.Context) (api.GetRootResponseObject, bool) {
	if s.web == nil {
		return nil, false
	}
	r, ok := ctx.Value(webRequestKey{}).(*http.Request)
	if !ok {
		return webAnswer{f: s.web.page}, true
	}
	return newWebAnswer(s.web.page, r), true
}

// serverPrefixes are the paths the server answers itself: the API, the
// docs, metrics and the debug endpoints (served on another port, if at
// all). Their unknown paths answer a JSON 404, never the web app's page.
var serverPrefixes = []string{"/api", "/v1", "/docs", "/metrics", "/debug"}

// isAPIPath reports whether a path belongs to the server (serverPrefixes)
// rather than to the web app.
func isAPIPath(p string) bool {
	for _, prefix := range serverPrefixes {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
	}
	return false
}

// serveWeb answers the requests that match no route: with the web app on,
// a GET or HEAD outside the API gets the file it names, or the app's page
// when it names none (the app routes in the browser: /chat, /settings).
// It is the innermost middleware and acts on Echo's own 404 only, so that
// missing files, unknown API paths and other methods answer as before
// (JSON 404), and a known route's other methods still answer 405.
func (s *Server) serveWeb(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		// Echo's sentinel itself, as its router returns it: a handler's
		// own "not found" (wrapped, or a domain error) is an answer.
		if err != echo.ErrNotFound || s.web == nil || s.routes[c.Path()] {
			return err
		}
		r := c.Request()
		p := r.URL.Path
		if (r.Method != http.MethodGet && r.Method != http.MethodHead) || isAPIPath(p) {
			return err
		}
		f, ok := s.web.files[p]
		switch {
		case ok:
		case strings.HasPrefix(p, "/"+webHashedDir) || path.Ext(p) != "":
			return err
		default:
			f = s.web.page
		}
		return newWebAnswer(f, r).write(c.Response())
	}
}
