package httpapi

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.yaml.in/yaml/v3"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
)

// docsUI is the documentation page: our index.html, docs.js and docs.css,
// and the Swagger UI files that docsui/vendor.sh copies from the pinned
// swagger-ui-dist package, with their licenses.
//
//go:embed docsui/index.html docsui/docs.js docsui/docs.css docsui/swagger-ui
var docsUI embed.FS

// compressDocs gzips the documentation and the spec for clients that accept
// it: the Swagger UI bundle is 1.7 MB as is and about a quarter of that
// compressed. API answers are left alone (streams must not be buffered),
// and so is the bodiless redirect from /docs/ (the middleware would drop
// its Content-Length).
func compressDocs() echo.MiddlewareFunc {
	return middleware.GzipWithConfig(middleware.GzipConfig{
		Skipper: func(c echo.Context) bool {
			p := c.Request().URL.Path
			asset := strings.HasPrefix(p, "/docs/") && p != "/docs/"
			return !(p == "/docs" || asset || p == "/openapi.json" || p == "/openapi.yaml")
		},
		MinLength: 1024,
	})
}

// docsAssetCache is how long browsers may keep the page's files. The names
// carry no version, so an upgrade reaches browsers within the hour.
const docsAssetCache = "public, max-age=3600"

// docsAssetFiles maps every value the spec allows for /docs/{asset} to its
// file in docsUI.
func docsAssetFiles() map[api.GetDocsAssetParamsAsset]string {
	return map[api.GetDocsAssetParamsAsset]string{
		api.DocsAssetDocsJS:                 "docsui/docs.js",
		api.DocsAssetDocsCSS:                "docsui/docs.css",
		api.DocsAssetSwaggerUIBundleJS:      "docsui/swagger-ui/swagger-ui-bundle.js",
		api.DocsAssetSwaggerUICSS:           "docsui/swagger-ui/swagger-ui.css",
		api.DocsAssetLicense:                "docsui/swagger-ui/LICENSE",
		api.DocsAssetNotice:                 "docsui/swagger-ui/NOTICE",
		api.DocsAssetSwaggerUIBundleLicense: "docsui/swagger-ui/swagger-ui-bundle.js.LICENSE.txt",
	}
}

// docsContentType is the Content-Type of a documentation file. It does not
// use mime.TypeByExtension, whose answer depends on the machine's tables.
func docsContentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	default:
		return "text/plain; charset=utf-8"
	}
}

// docs are the answers of the documentation routes, all built at start.
type docs struct {
	page     docFile
	assets   map[api.GetDocsAssetParamsAsset]docFile
	specYAML docFile
	specJSON docFile
}

func newDocs() (*docs, error) {
	d := &docs{assets: map[api.GetDocsAssetParamsAsset]docFile{}}
	page, err := docsUI.ReadFile("docsui/index.html")
	if err != nil {
		return nil, fmt.Errorf("read docs page: %w", err)
	}
	d.page = docFile{contentType: docsContentType("index.html"), body: page}
	for asset, name := range docsAssetFiles() {
		body, err := docsUI.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read docs asset: %w", err)
		}
		d.assets[asset] = docFile{contentType: docsContentType(name), cacheControl: docsAssetCache, body: body}
	}
	spec := api.SpecYAML()
	d.specYAML = docFile{contentType: "application/yaml", body: spec}
	specJSON, err := yamlToJSON(spec)
	if err != nil {
		return nil, fmt.Errorf("convert api/openapi.yaml to JSON: %w", err)
	}
	d.specJSON = docFile{contentType: echo.MIMEApplicationJSON, body: specJSON}
	return d, nil
}

// yamlToJSON converts a YAML document whose mapping keys are strings, as
// an OpenAPI document's are, to compact JSON, value for value and with keys
// in the order written: Swagger UI shows paths, properties and examples in
// document order and preselects the first example.
func yamlToJSON(doc []byte) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // descriptions hold <, > and &: keep them readable
	if err := writeJSON(&buf, enc, &root); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeJSON writes one YAML node as JSON.
func writeJSON(buf *bytes.Buffer, enc *json.Encoder, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return fmt.Errorf("line %d: want one document", n.Line)
		}
		return writeJSON(buf, enc, n.Content[0])
	case yaml.AliasNode:
		return writeJSON(buf, enc, n.Alias)
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i]
			if key.Kind != yaml.ScalarNode || key.ShortTag() != "!!str" {
				return fmt.Errorf("line %d: key %q is not a string (quote it)", key.Line, key.Value)
			}
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeScalar(buf, enc, key.Value); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := writeJSON(buf, enc, n.Content[i+1]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, enc, item); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		// Decoded as YAML reads it: strings, numbers, booleans, null (and
		// timestamps as the strings they were written as).
		var v any
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		if err := writeScalar(buf, enc, v); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
	default:
		return fmt.Errorf("line %d: unsupported YAML node", n.Line)
	}
	return nil
}

// writeScalar writes v as JSON, without the newline the encoder adds.
func writeScalar(buf *bytes.Buffer, enc *json.Encoder, v any) error {
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1)
	return nil
}

// docFile is one answer of the documentation routes: a file written as is.
// It implements the generated response interfaces itself, so that the
// Content-Type carries its charset (the generated types send the bare media
// type) and one type serves all four routes.
type docFile struct {
	contentType string
	// cacheControl, when set, replaces the default "no-store".
	cacheControl string
	body         []byte
}

func (f docFile) write(w http.ResponseWriter) error {
	h := w.Header()
	h.Set(echo.HeaderContentType, f.contentType)
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(f.body)))
	if f.cacheControl != "" {
		h.Set("Cache-Control", f.cacheControl)
	}
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(f.body)
	return err
}

// VisitGetDocsResponse implements api.GetDocsResponseObject.
func (f docFile) VisitGetDocsResponse(w http.ResponseWriter) error { return f.write(w) }

// VisitGetDocsAssetResponse implements api.GetDocsAssetResponseObject.
func (f docFile) VisitGetDocsAssetResponse(w http.ResponseWriter) error { return f.write(w) }

// VisitGetOpenAPIJSONResponse implements api.GetOpenAPIJSONResponseObject.
func (f docFile) VisitGetOpenAPIJSONResponse(w http.ResponseWriter) error { return f.write(w) }

// VisitGetOpenAPIYAMLResponse implements api.GetOpenAPIYAMLResponseObject.
func (f docFile) VisitGetOpenAPIYAMLResponse(w http.ResponseWriter) error { return f.write(w) }

// GetDocs implements api.StrictServerInterface.
func (h *handlers) GetDocs(context.Context, api.GetDocsRequestObject) (api.GetDocsResponseObject, error) {
	if h.s.cfg.DocsDisabled {
		return nil, docsOff()
	}
	return h.s.docs.page, nil
}

// GetDocsAsset implements api.StrictServerInterface. A name outside the
// spec's enum is an invalid parameter (400), as an unknown status window
// is; 404 stays the answer for routes that do not exist.
func (h *handlers) GetDocsAsset(_ context.Context, req api.GetDocsAssetRequestObject) (api.GetDocsAssetResponseObject, error) {
	if h.s.cfg.DocsDisabled {
		return nil, docsOff()
	}
	f, ok := h.s.docs.assets[req.Asset]
	if !ok {
		return nil, domain.Errorf(domain.CodeInvalid, "asset: not a file of the documentation page")
	}
	return f, nil
}

// GetOpenAPIJSON implements api.StrictServerInterface.
func (h *handlers) GetOpenAPIJSON(context.Context, api.GetOpenAPIJSONRequestObject) (api.GetOpenAPIJSONResponseObject, error) {
	if h.s.cfg.DocsDisabled {
		return nil, docsOff()
	}
	return h.s.docs.specJSON, nil
}

// GetOpenAPIYAML implements api.StrictServerInterface.
func (h *handlers) GetOpenAPIYAML(context.Context, api.GetOpenAPIYAMLRequestObject) (api.GetOpenAPIYAMLResponseObject, error) {
	if h.s.cfg.DocsDisabled {
		return nil, docsOff()
	}
	return h.s.docs.specYAML, nil
}

// GetRoot implements api.StrictServerInterface: the front page is the web
// app, or the documentation when the app is off. The redirect is a 302 so
// that browsers do not keep it.
func (h *handlers) GetRoot(ctx context.Context, _ api.GetRootRequestObject) (api.GetRootResponseObject, error) {
	if page, ok := h.s.rootPage(ctx); ok {
		return page, nil
	}
	if h.s.cfg.DocsDisabled {
		return nil, docsOff()
	}
	return docsRedirect(http.StatusFound), nil
}

// docsRedirect is a redirect to /docs with its status. It says
// Content-Length: 0 itself: net/http adds it to the empty answer of a GET
// but cannot to a HEAD's, whose answer must carry the same headers.
type docsRedirect int

func (r docsRedirect) write(w http.ResponseWriter) {
	w.Header().Set(echo.HeaderLocation, "/docs")
	w.Header().Set(echo.HeaderContentLength, "0")
	w.WriteHeader(int(r))
}

// VisitGetRootResponse implements api.GetRootResponseObject.
func (r docsRedirect) VisitGetRootResponse(w http.ResponseWriter) error {
	r.write(w)
	return nil
}

// docsOff answers the documentation routes when DOCS_ENABLED=false, as a
// route that does not exist is answered.
func docsOff() error { return domain.Errorf(domain.CodeNotFound, "Not Found") }

// redirectToDocs sends /docs/ to /docs, the page's one address.
func (s *Server) redirectToDocs(c echo.Context) error {
	if s.cfg.DocsDisabled {
		return docsOff()
	}
	docsRedirect(http.StatusMovedPermanently).write(c.Response())
	return nil
}
