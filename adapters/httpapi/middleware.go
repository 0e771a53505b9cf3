package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/apikeys"
	"github.com/genzai/genzai/domain/voice"
)

type ctxKey int

const (
	userKey ctxKey = iota
	requestIDKey
	apiKeyKey
	correlationIDKey
)

// UserFrom returns the authenticated user that the auth middleware put in ctx.
func UserFrom(ctx context.Context) (domain.User, bool) {
	u, ok := ctx.Value(userKey).(domain.User)
	return u, ok
}

// APIKeyFrom returns the API key the request authenticated with, if it
// was one (and not an access token).
func APIKeyFrom(ctx context.Context) (domain.APIKey, bool) {
	k, ok := ctx.Value(apiKeyKey).(domain.APIKey)
	return k, ok
}

// RequestIDFrom returns the request id of ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// headerCorrelationID echoes a client's own X-Request-ID.
const headerCorrelationID = "X-Correlation-ID"

// withRequestID gives every request an id of the server's own (a UUIDv7:
// time-ordered), echoed in X-Request-ID and put in the request context: it
// is the id stored in the request log and rated by feedback, so no client
// can choose it and make two users' rows share one. A valid X-Request-ID
// the client sent is kept as a correlation id: echoed in X-Correlation-ID
// and logged as correlation_id, so that a caller's own tracing still finds
// the request.
func withRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := uuid.NewV7()
		if err != nil {
			id = uuid.New() // NewV7 fails only when the random source does
		}
		s := id.String()
		h := c.Response().Header()
		h[echo.HeaderXRequestID] = []string{s} // canonical already: no Set
		ctx := context.WithValue(c.Request().Context(), requestIDKey, s)
		if corr := c.Request().Header.Get(echo.HeaderXRequestID); domain.ValidRequestID(corr) {
			h.Set(headerCorrelationID, corr)
			ctx = context.WithValue(ctx, correlationIDKey, corr)
		}
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// correlationID returns the client's own X-Request-ID kept by
// withRequestID, or "".
func correlationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationIDKey).(string)
	return id
}

// accessLog renders errors through the error handler first, so that the
// logged status is the one the client got, then writes one line per request
// and records the request's metrics.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		s.logRequest(c, time.Since(start))
		return nil
	}
}

// logRequest observes and logs a request that took elapsed. Apart from
// accessLog's closure, so that the closure's frame, which stays on the
// stack for the whole request (a stream's too), is small.
func (s *Server) logRequest(c echo.Context, elapsed time.Duration) {
	req, res := c.Request(), c.Response()
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.ObserveRequest(methodLabel(req.Method), s.routeLabel(c), res.Status, elapsed)
	}
	attrs := []slog.Attr{
		slog.String("request_id", requestID(c)),
		slog.String("method", req.Method),
		slog.String("route", c.Path()),
		slog.String("path", req.URL.Path),
		slog.Int("status", res.Status),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		slog.Int64("bytes", res.Size),
		slog.String("remote_ip", c.RealIP()),
	}
	if corr := correlationID(req.Context()); corr != "" {
		attrs = append(attrs, slog.String("correlation_id", corr))
	}
	s.log.LogAttrs(req.Context(), logLevelFor(res.Status), "request", attrs...)
}

// recoverPanics turns a panic into a 500 with the stack in the log.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.Error("panic", "request_id", requestID(c), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}

// limitBody refuses bodies over max bytes: by Content-Length before reading,
// and while reading when the length is not sent. http.MaxBytesReader
// truncates at the limit, so a decoder never sees a complete oversized
// value (Echo's BodyLimit returns data and error together, and Go 1.26's
// JSON decoder accepts a complete value without looking at the error).
// The upload routes take uploadMax bytes of file and formOverhead besides
// instead; their refusal says so.
func limitBody(max, uploadMax int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			limit, tooLarge := max, errTooLarge(max, nil)
			if uploadRoutes[c.Path()] {
				limit, tooLarge = uploadMax+formOverhead, voice.TooLarge(uploadMax)
			}
			if req.ContentLength > limit {
				return tooLarge
			}
			if req.Body != nil && req.Body != http.NoBody {
				req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
			}
			return next(c)
		}
	}
}

// uploadRoutes take a multipart form with a file (an audio upload) in
// place of a JSON body.
var uploadRoutes = map[string]bool{"/api/v1/audio/transcriptions": true, "/v1/audio/transcriptions": true}

// formOverhead is what an upload route's body may hold besides the file:
// the other fields (a prompt of 1000 characters, the language, OpenAI's
// model and response_format...), part headers and boundaries.
const formOverhead = 64 << 10

// errNotForm refuses an upload route's body that is not a multipart form.
var errNotForm = domain.Errorf(domain.CodeUnsupportedMediaType, "Request body must be multipart/form-data (the audio in a part named file)")

// errNotJSON refuses a body that is not JSON.
var errNotJSON = domain.Errorf(domain.CodeUnsupportedMediaType, "Request body must be application/json")

// errTooLarge refuses a body over the limit of max bytes.
func errTooLarge(max int64, cause error) *domain.Error {
	return &domain.Error{Code: domain.CodePayloadTooLarge, Message: fmt.Sprintf("Request body too large (limit %d bytes)", max), Err: cause}
}

// errBodyNotUTF8 refuses a body that is not UTF-8: encoding/json would
// quietly turn its bad bytes into U+FFFD and pass altered text on.
var errBodyNotUTF8 = domain.Errorf(domain.CodeInvalid, "Request body must be valid UTF-8")

// requireJSON refuses request bodies that are not JSON with 415, so that no
// other binder (forms, XML) ever sees them, and JSON that is not valid UTF-8
// with 400. The body, bounded by limitBody, is read here and handed on. The
// upload routes take a multipart form instead (anything else is a 415),
// which is left unread for their handlers.
func requireJSON(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		switch req.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
		default:
			return next(c)
		}
		if uploadRoutes[c.Path()] {
			// The handler reads the form as a stream, part by part.
			mt, params, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
			if err != nil || mt != echo.MIMEMultipartForm || params["boundary"] == "" {
				return errNotForm
			}
			return next(c)
		}
		if req.ContentLength == 0 && len(req.TransferEncoding) == 0 {
			return next(c)
		}
		mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
		if err != nil || (mt != echo.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json")) {
			return errNotJSON
		}
		body, err := readBody(req.Body, req.ContentLength)
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			return errTooLarge(tooLarge.Limit, err)
		case err != nil:
			return err // too slow (a *BodyTimeoutError, 408) or a broken connection
		}
		if !utf8.Valid(body) {
			return errBodyNotUTF8
		}
		req.Body = &jsonBody{Reader: bytes.NewReader(body), data: body}
		return next(c)
	}
}

// readBody reads a request body whole. A body that says its length
// (limitBody has bounded it) is read into a buffer of that size, one byte
// more for the read that finds the end, instead of one that grows from 512
// bytes as io.ReadAll's does.
func readBody(r io.Reader, length int64) ([]byte, error) {
	if length <= 0 {
		return io.ReadAll(r)
	}
	buf := make([]byte, 0, length+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // longer than it said: grow
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return buf, err
		}
	}
}

// jsonBody is a JSON request body requireJSON has read: strictJSON decodes
// its bytes without reading and copying them again.
type jsonBody struct {
	*bytes.Reader
	data []byte
}

// Close implements io.Closer.
func (*jsonBody) Close() error { return nil }

// unread returns the body's bytes and marks them read, when nothing has
// read any yet.
func (b *jsonBody) unread() ([]byte, bool) {
	if b.Len() != len(b.data) {
		return nil, false
	}
	_, _ = b.Seek(0, io.SeekEnd)
	return b.data, true
}

// keyScopeExtension is the operation extension of the spec that names the
// scope a personal API key needs for the operation; a protected operation
// without it takes access tokens only.
const keyScopeExtension = "x-key-scope"

// bearerRoutes lists the routes the spec protects with bearerAuth, as Echo
// route keys ("GET /api/v1/quota"), so that the spec decides who must log
// in, each with the scope an API key needs there ("" when keys cannot be
// used there at all).
func bearerRoutes() (map[string]domain.Scope, error) {
	doc, err := api.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("load spec: %w", err)
	}
	routes := map[string]domain.Scope{}
	for path, item := range doc.Paths.Map() {
		echoPath := path
		for strings.Contains(echoPath, "{") {
			i, j := strings.Index(echoPath, "{"), strings.Index(echoPath, "}")
			echoPath = echoPath[:i] + ":" + echoPath[i+1:j] + echoPath[j+1:]
		}
		for method, op := range item.Operations() {
			reqs := doc.Security
			if op.Security != nil {
				reqs = *op.Security
			}
			var scope domain.Scope
			if v, ok := op.Extensions[keyScopeExtension]; ok {
				name, _ := v.(string)
				if scope = domain.Scope(name); scope != domain.ScopeChat && scope != domain.ScopeAdmin {
					return nil, fmt.Errorf("load spec: %s %s: %s must be chat or admin, not %v", method, path, keyScopeExtension, v)
				}
			}
			for _, req := range reqs {
				if _, ok := req["bearerAuth"]; ok {
					routes[method+" "+echoPath] = scope
				}
			}
		}
	}
	return routes, nil
}

// errKeyNeedsToken refuses an API key on a route no key scope opens:
// managing keys (and the account) needs a login, so that a leaked key
// cannot mint, list or revoke keys.
var errKeyNeedsToken = domain.Errorf(domain.CodeForbidden, "API keys cannot be used here: log in and use the access token")

// tokenRefused names a refused access token for what it is: a credential
// that was sent and is no good is an invalid token (its challenge tells the
// client to log in again), where a missing one or a wrong password is
// merely unauthorized.
func tokenRefused(err error) error {
	if domain.ErrorCode(err) != domain.CodeUnauthorized {
		return err // expired (already an invalid token), forbidden, unavailable
	}
	return &domain.Error{Code: domain.CodeInvalidToken, Message: domain.ErrorMessage(err), Err: err}
}

// authenticate checks the bearer token on protected routes and puts the
// user in the request context.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		scope, protected := s.protected[c.Request().Method+" "+c.Path()]
		if !protected {
			return next(c)
		}
		ctx, err := s.authenticated(c, scope)
		if err != nil {
			return err
		}
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// authenticated checks the request's bearer token (a session token or an
// API key with scope) and returns its context with the user (and key).
// Apart from authenticate's closure, so that the closure's frame, which
// stays on the stack for the whole request (a stream's too), is small.
func (s *Server) authenticated(c echo.Context, scope domain.Scope) (context.Context, error) {
	scheme, token, ok := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, domain.Errorf(domain.CodeUnauthorized, "Missing bearer token")
	}
	ctx := c.Request().Context()
	if apikeys.IsKey(token) && s.deps.APIKeys != nil {
		u, k, err := s.deps.APIKeys.Authenticate(ctx, token)
		if err != nil {
			return nil, err
		}
		// Scopes limit what a key may do; the admin use case still
		// checks that the live account is an admin.
		if scope == "" {
			return nil, errKeyNeedsToken
		}
		if err := apikeys.RequireScope(k, scope); err != nil {
			return nil, err
		}
		return context.WithValue(context.WithValue(ctx, userKey, u), apiKeyKey, k), nil
	}
	u, err := s.deps.Login.Authenticate(ctx, token)
	if err != nil {
		return nil, tokenRefused(err)
	}
	return context.WithValue(ctx, userKey, u), nil
}
