package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

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

// strictJSON is Echo's JSON serializer with two more rules for request
// bodies: the body is one JSON value and nothing after it but white space,
// and a body that does not decode is refused in words the client can act
// on ("prompt: must be a string", "Invalid JSON at line 1, column 21: ..."),
// not in the decoder's. Every JSON route binds through it (the strict
// handlers' BindBody calls the instance's JSONSerializer), so the rules
// live in this one place.
type strictJSON struct{ echo.DefaultJSONSerializer }

// Deserialize implements echo.JSONSerializer. The body is read whole (the
// body limit bounds it) so that an error can say where it is: the line and
// column of bad syntax, the member, with its array indexes, of a value of
// the wrong type. An empty or truncated body and a read that failed (too
// slow, too large) keep their own errors, which the error handler words.
func (strictJSON) Deserialize(c echo.Context, i any) error {
	body, err := requestBody(c.Request().Body)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	err = dec.Decode(i)
	var (
		ute *json.UnmarshalTypeError
		se  *json.SyntaxError
	)
	switch {
	case errors.As(err, &ute):
		return wrongType(body, ute)
	case errors.As(err, &se):
		line, col := position(body, se.Offset)
		return &domain.Error{Code: domain.CodeInvalid, Message: fmt.Sprintf("Invalid JSON at line %d, column %d: %s", line, col, se), Err: se}
	case err != nil:
		return err
	}
	_, err = dec.Token()
	switch {
	case err == io.EOF:
		return nil
	case err != nil && !errors.As(err, &se):
		return err
	}
	return errTrailingData
}

// requestBody reads a request body whole; one that requireJSON has read
// already is not read and copied again.
func requestBody(r io.Reader) ([]byte, error) {
	if b, ok := r.(*jsonBody); ok {
		if data, ok := b.unread(); ok {
			return data, nil
		}
	}
	return io.ReadAll(r)
}

// position is the line and column (in characters, both from 1) of the
// byte a syntax error was found at: the decoder had read offset bytes.
func position(body []byte, offset int64) (line, col int) {
	at := int(max(0, min(offset-1, int64(len(body)))))
	before := body[:at]
	start := bytes.LastIndexByte(before, '\n') + 1
	return bytes.Count(before, []byte{'\n'}) + 1, utf8.RuneCount(before[start:]) + 1
}

// wrongType words a value of the wrong type: the member it is in, the
// type it must have. The member is found again in the body, because the
// decoder's own path has no array indexes ("messages.content" for
// "messages[1].content").
func wrongType(body []byte, ute *json.UnmarshalTypeError) error {
	path, ok := jsonPath(body, ute.Offset)
	if !ok {
		path = ute.Field
	}
	want := wantedType(ute)
	if path == "" {
		return &domain.Error{Code: domain.CodeInvalid, Message: "Request body " + want, Err: ute}
	}
	e := domain.Invalid(path, "%s", want)
	e.Err = ute
	return e
}

// wantedType says what a value must be, for the type it was decoded into.
// A number of the wrong kind or size for a numeric member is said so.
func wantedType(ute *json.UnmarshalTypeError) string {
	t := ute.Type
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	number, isNumber := strings.CutPrefix(ute.Value, "number ")
	switch t.Kind() {
	case reflect.String:
		return "must be a string"
	case reflect.Bool:
		return "must be true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		switch {
		case !isNumber && ute.Value != "number":
			return "must be an integer"
		case strings.ContainsAny(number, ".eE"):
			return "must be a whole number"
		}
		return "is out of range"
	case reflect.Float32, reflect.Float64:
		if isNumber {
			return "is out of range"
		}
		return "must be a number"
	case reflect.Slice, reflect.Array:
		return "must be an array"
	case reflect.Map, reflect.Struct:
		return "must be an object"
	}
	return "has the wrong type"
}

// jsonPath names the member of body whose value encoding/json refused:
// the one that ends, or whose array or object opens, at offset (as the
// decoder reports a value of the wrong type). Members read
// "messages[0].content"; "" is the body itself. ok is false when no value
// matches.
func jsonPath(body []byte, offset int64) (path string, ok bool) {
	type frame struct {
		array   bool
		index   int
		key     string
		wantKey bool
	}
	var stack []frame
	// next moves the innermost container past a value it holds.
	next := func() {
		if len(stack) == 0 {
			return
		}
		top := &stack[len(stack)-1]
		if top.array {
			top.index++
		} else {
			top.wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		if top := len(stack) - 1; top >= 0 && stack[top].wantKey {
			if key, isKey := tok.(string); isKey {
				stack[top].key, stack[top].wantKey = key, false
				continue
			}
		}
		d, delim := tok.(json.Delim)
		if delim && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			next()
			continue
		}
		if dec.InputOffset() == offset {
			var b strings.Builder
			for i, f := range stack {
				switch {
				case f.array:
					fmt.Fprintf(&b, "[%d]", f.index)
				case i > 0:
					b.WriteString("." + f.key)
				default:
					b.WriteString(f.key)
				}
			}
			return b.String(), true
		}
		if delim {
			stack = append(stack, frame{array: d == '[', wantKey: d == '{'})
			continue
		}
		next()
	}
}
