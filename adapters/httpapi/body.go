package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/genzai/genzai/domain"
)

// bodyDeadline bounds how long a request body may take to arrive: d from
// the moment the request gets here, after which reading it fails with a
// BodyTimeoutError (a 408). The server has no ReadTimeout and the handler
// time limit does not interrupt a read, so without this a client that sends
// its headers and then trickles the body (slowloris) held its connection
// and goroutine for as long as it kept sending. The deadline is lifted at
// the end of the body, so that it never applies to the answer (streams
// outlive d). When the handler leaves part of the body unread, it is
// renewed as the handler returns: net/http then drains the rest, and that
// must be bounded too, but not by time a long answer already used.
func bodyDeadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if d <= 0 || req.Body == nil || req.Body == http.NoBody {
				return next(c)
			}
			rc := http.NewResponseController(c.Response())
			if rc.SetReadDeadline(time.Now().Add(d)) != nil {
				return next(c) // unsupported by this writer (a test recorder)
			}
			b := &deadlineBody{ReadCloser: req.Body, rc: rc}
			req.Body = b
			err := next(c)
			if b.rc != nil && !b.timedOut {
				_ = b.rc.SetReadDeadline(time.Now().Add(d))
			}
			return err
		}
	}
}

// BodyTimeoutError is a request body that did not arrive in time.
type BodyTimeoutError struct{ Err error }

// Error implements error.
func (e *BodyTimeoutError) Error() string { return "Request body not received in time" }

// Unwrap returns the read's own error.
func (e *BodyTimeoutError) Unwrap() error { return e.Err }

// ErrorCode implements domain.Coded.
func (e *BodyTimeoutError) ErrorCode() domain.Code { return domain.CodeRequestTimeout }

// PublicMessage implements domain.Coded.
func (e *BodyTimeoutError) PublicMessage() string { return e.Error() }

// deadlineBody lifts the read deadline at the end of the body and names
// the error when the deadline passes first.
type deadlineBody struct {
	io.ReadCloser
	rc       *http.ResponseController // nil once the deadline is lifted
	timedOut bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF && b.rc != nil:
		_ = b.rc.SetReadDeadline(time.Time{})
		b.rc = nil
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		b.timedOut = true
		err = &BodyTimeoutError{Err: err}
	}
	return n, err
}

// errTrailingData refuses a body with more after its JSON value: a client
// that sent two values (or a value and garbage) meant something the server
// would not do, so it is told instead of the rest being quietly dropped.
var errTrailingData = domain.Errorf(domain.CodeInvalid, "Invalid JSON body: unexpected data after the JSON value")

// strictJSON is Echo's JSON serializer with one more rule for request
// bodies: the body is one JSON value and nothing after it but white space.
// Every JSON route binds through it (the strict handlers' BindBody calls
// the instance's JSONSerializer), so the rule lives in this one place.
type strictJSON struct{ echo.DefaultJSONSerializer }

// Deserialize implements echo.JSONSerializer: it decodes as Echo's
// default serializer does, with the same errors, and then refuses
// trailing data.
func (strictJSON) Deserialize(c echo.Context, i any) error {
	dec := json.NewDecoder(c.Request().Body)
	err := dec.Decode(i)
	var (
		ute *json.UnmarshalTypeError
		se  *json.SyntaxError
	)
	switch {
	case errors.As(err, &ute):
		return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("Unmarshal type error: expected=%v, got=%v, field=%v, offset=%v", ute.Type, ute.Value, ute.Field, ute.Offset)).SetInternal(err)
	case errors.As(err, &se):
		return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("Syntax error: offset=%v, error=%v", se.Offset, se.Error())).SetInternal(err)
	case err != nil:
		return err
	}
	_, err = dec.Token()
	switch {
	case err == io.EOF:
		return nil
	case err != nil && !errors.As(err, &se):
		return err // the rest of the body could not be read (too slow, too large)
	}
	return errTrailingData
}
