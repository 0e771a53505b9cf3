package httpapi

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/genzai/genzai/domain"
)

// nativeError is how the native API answers one error code.
type nativeError struct {
	status int
	// wire is the code the body names when it is not the domain code (a
	// distinction the client has no use for).
	wire domain.Code
	// challenge is the WWW-Authenticate header of a 401.
	challenge string
	// retryHeaderOnly sends Retry-After as a header only: the body of the
	// quota's 429 predates it, and clients print every member it has.
	retryHeaderOnly bool
}

// The WWW-Authenticate challenges (RFC 6750): a credential that was sent
// and is no good is an invalid_token, so that clients log in again.
const (
	challengeBearer       = "Bearer"
	challengeInvalidToken = `Bearer error="invalid_token"`
)

// nativeErrors is the one table that maps error codes to the native API's
// answers. Every domain.Code has a row (TestEveryCodeHasARow).
var nativeErrors = map[domain.Code]nativeError{
	domain.CodeInvalid:              {status: http.StatusBadRequest},
	domain.CodeUnauthorized:         {status: http.StatusUnauthorized, challenge: challengeBearer},
	domain.CodeInvalidToken:         {status: http.StatusUnauthorized, wire: domain.CodeUnauthorized, challenge: challengeInvalidToken},
	domain.CodeTokenExpired:         {status: http.StatusUnauthorized, challenge: challengeInvalidToken},
	domain.CodeForbidden:            {status: http.StatusForbidden},
	domain.CodeEmailUnverified:      {status: http.StatusForbidden},
	domain.CodeNotFound:             {status: http.StatusNotFound},
	domain.CodeMethodNotAllowed:     {status: http.StatusMethodNotAllowed},
	domain.CodeConflict:             {status: http.StatusConflict},
	domain.CodeConversationBusy:     {status: http.StatusConflict},
	domain.CodeRequestTimeout:       {status: http.StatusRequestTimeout},
	domain.CodePayloadTooLarge:      {status: http.StatusRequestEntityTooLarge},
	domain.CodeUnsupportedMediaType: {status: http.StatusUnsupportedMediaType},
	domain.CodeQuotaExceeded:        {status: http.StatusTooManyRequests, retryHeaderOnly: true},
	domain.CodeRateLimited:          {status: http.StatusTooManyRequests},
	domain.CodeProviderRateLimited:  {status: http.StatusTooManyRequests},
	domain.CodeProvidersUnavailable: {status: http.StatusServiceUnavailable},
	domain.CodeUpstreamError:        {status: http.StatusBadGateway},
	domain.CodeStreamInterrupted:    {status: http.StatusBadGateway},
	domain.CodeTimeout:              {status: http.StatusGatewayTimeout},
	// The client went away; nobody reads this answer.
	domain.CodeCancelled:   {status: http.StatusServiceUnavailable, wire: domain.CodeUnavailable},
	domain.CodeUnavailable: {status: http.StatusServiceUnavailable},
	// A request the shutdown ended may be sent again, to another instance.
	domain.CodeShuttingDown:      {status: http.StatusServiceUnavailable, wire: domain.CodeUnavailable},
	domain.CodeFeatureDisabled:   {status: http.StatusServiceUnavailable},
	domain.CodeSearchUnavailable: {status: http.StatusServiceUnavailable},
	domain.CodeInternal:          {status: http.StatusInternalServerError},
}

// codeByStatus names the errors Echo raises itself (routing, binding),
// where they enter the error handler.
var codeByStatus = map[int]domain.Code{
	http.StatusBadRequest:            domain.CodeInvalid,
	http.StatusUnauthorized:          domain.CodeUnauthorized,
	http.StatusForbidden:             domain.CodeForbidden,
	http.StatusNotFound:              domain.CodeNotFound,
	http.StatusMethodNotAllowed:      domain.CodeMethodNotAllowed,
	http.StatusRequestTimeout:        domain.CodeRequestTimeout,
	http.StatusConflict:              domain.CodeConflict,
	http.StatusRequestEntityTooLarge: domain.CodePayloadTooLarge,
	http.StatusUnsupportedMediaType:  domain.CodeUnsupportedMediaType,
	http.StatusTooManyRequests:       domain.CodeRateLimited,
	http.StatusServiceUnavailable:    domain.CodeUnavailable,
	http.StatusInternalServerError:   domain.CodeInternal,
}

// errorBody is the JSON of every non-2xx answer (api.Error plus extras).
type errorBody struct {
	Error      string        `json:"error"`
	Code       string        `json:"code"`
	RequestID  string        `json:"request_id"`
	Used       *int          `json:"used,omitempty"`
	Limit      *int          `json:"limit,omitempty"`
	RetryAfter *int          `json:"retry_after,omitempty"`
	Provider   string        `json:"provider,omitempty"`
	Attempts   []attemptBody `json:"attempts,omitempty"`
	// Reason says why web search is unavailable (api.WebSearchFailure).
	Reason string `json:"reason,omitempty"`
}

type attemptBody struct {
	Provider string `json:"provider"`
	Reason   string `json:"reason"`
}

// errorAnswer is an error decided: its code, the native answer and what
// the headers and the OpenAI dialect need besides.
type errorAnswer struct {
	code   domain.Code
	status int
	body   errorBody
	// field is the request member an invalid request is about (OpenAI's param).
	field string
	// retryAfter is the Retry-After header in whole seconds; 0: none.
	retryAfter int
	challenge  string
}

// answerError decides the answer to any error: its code picks the row of
// nativeErrors, then the typed errors fill in the details. Unknown errors
// are 500 "internal error"; their detail only goes to the log.
func (s *Server) answerError(err error) errorAnswer {
	code, msg := s.classify(err)
	row, ok := nativeErrors[code]
	if !ok {
		code, row = domain.CodeInternal, nativeErrors[domain.CodeInternal]
	}
	if row.status == http.StatusInternalServerError {
		msg = "internal error"
	}
	wire := code
	if row.wire != "" {
		wire = row.wire
	}
	a := errorAnswer{code: code, status: row.status, challenge: row.challenge, field: domain.ErrorField(err),
		body: errorBody{Error: msg, Code: string(wire)}}
	a.addDetails(err)
	if secs := retryAfterSeconds(err); secs > 0 {
		a.retryAfter = secs
		if !row.retryHeaderOnly {
			a.body.RetryAfter = &secs
		}
	}
	return a
}

// addDetails fills the members the decided code's answer carries from the
// typed error behind it.
func (a *errorAnswer) addDetails(err error) {
	var (
		qe *domain.QuotaExceededError
		pu *domain.ProvidersUnavailableError
		ur *domain.UpstreamRejectedError
		su *domain.SearchUnavailableError
	)
	switch {
	case a.code == domain.CodeQuotaExceeded && errors.As(err, &qe):
		a.body.Used, a.body.Limit = &qe.Used, &qe.Limit
	case a.code == domain.CodeProvidersUnavailable && errors.As(err, &pu):
		a.body.Attempts = make([]attemptBody, 0, len(pu.Attempts))
		for _, at := range pu.Attempts {
			a.body.Attempts = append(a.body.Attempts, attemptBody{Provider: string(at.Provider), Reason: string(at.Reason)})
		}
	case a.code == domain.CodeUpstreamError && errors.As(err, &ur):
		a.body.Provider = string(ur.Provider)
	case a.code == domain.CodeSearchUnavailable && errors.As(err, &su):
		a.body.Reason = string(su.Reason)
	}
}

// retryAfterSeconds is when the client may try again, in whole seconds
// rounded up ("Retry-After: 0" would invite a retry storm); 0 when err does
// not say.
func retryAfterSeconds(err error) int {
	var rl *RateLimitedError
	if errors.As(err, &rl) {
		return rl.RetryAfter
	}
	ra := domain.RetryAfter(err)
	if ra <= 0 {
		return 0
	}
	return int((ra + time.Second - 1) / time.Second)
}

// classify names the code and the client-facing message of err. The errors
// raised at the HTTP edge (Echo's, the body's limits) get their code here,
// where they enter; everything else carries its own.
func (s *Server) classify(err error) (domain.Code, string) {
	var (
		slow     *BodyTimeoutError
		tooLarge *http.MaxBytesError
		he       *echo.HTTPError
		c        domain.Coded
	)
	switch {
	case errors.As(err, &slow):
		c = slow
	case errors.As(err, &tooLarge):
		c = errTooLarge(s.cfg.MaxBodyBytes, err)
	case errors.As(err, &he):
		c = s.fromEcho(he)
	default:
		return domain.ErrorCode(err), domain.ErrorMessage(err)
	}
	return c.ErrorCode(), c.PublicMessage()
}

// fromEcho gives an error Echo raised (routing, binding) its code, by its
// status; a cause with a code of its own (the body decoder's, strictJSON,
// which words syntax and type errors) keeps it.
func (s *Server) fromEcho(he *echo.HTTPError) domain.Coded {
	var c domain.Coded
	if errors.As(he.Internal, &c) {
		return c
	}
	// Echo raises none but the statuses of codeByStatus; should another
	// come, it is an internal error or a request refused as invalid.
	code, ok := codeByStatus[he.Code]
	switch {
	case ok:
	case he.Code >= http.StatusInternalServerError:
		code = domain.CodeInternal
	default:
		code = domain.CodeInvalid
	}
	msg := http.StatusText(he.Code)
	if m, ok := he.Message.(string); ok && m != "" {
		msg = m
	}
	switch {
	case code == domain.CodePayloadTooLarge:
		return errTooLarge(s.cfg.MaxBodyBytes, he)
	case code == domain.CodeUnsupportedMediaType:
		msg = "Request body must be application/json"
	case code != domain.CodeInvalid:
	case errors.Is(he.Internal, io.ErrUnexpectedEOF):
		msg = "Invalid JSON body: unexpected end of input"
	case errors.Is(he.Internal, io.EOF):
		msg = "Invalid JSON body: the body is empty"
	}
	return &domain.Error{Code: code, Message: msg, Err: he}
}

// handleError is Echo's HTTPErrorHandler: the single place where errors
// become HTTP answers.
func (s *Server) handleError(err error, c echo.Context) {
	reqID := requestID(c)
	if c.Response().Committed {
		s.log.Warn("error after response started", "request_id", reqID, "error", err)
		return
	}
	a := s.answerError(err)
	a.body.RequestID = reqID
	switch a.status {
	case http.StatusInternalServerError:
		s.log.Error("internal error", "request_id", reqID, "method", c.Request().Method, "route", c.Path(), "error", err)
	case http.StatusServiceUnavailable:
		s.log.Warn("dependency unavailable", "request_id", reqID, "route", c.Path(), "error", err)
	case http.StatusRequestTimeout:
		// The connection's read deadline has passed: it carries no more requests.
		c.Response().Header().Set(echo.HeaderConnection, "close")
	}
	if a.retryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(a.retryAfter))
	}
	if a.challenge != "" {
		c.Response().Header().Set("WWW-Authenticate", a.challenge)
	}
	switch {
	case c.Request().Method == http.MethodHead:
		err = c.NoContent(a.status)
	case isOpenAIPath(c.Request().URL.Path):
		err = writeOpenAIError(c.Response(), a)
	default:
		err = c.JSON(a.status, a.body)
	}
	if err != nil {
		s.log.Warn("write error response", "request_id", reqID, "error", err)
	}
}

// logLevelFor is the access-log level for a status.
func logLevelFor(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}
