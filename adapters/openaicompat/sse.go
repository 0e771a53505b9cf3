package openaicompat

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// maxEventBytes bounds one line and the data of one event: a longer line is
// an error, never an unbounded allocation.
const maxEventBytes = 1 << 20

// initialLineBuffer is the line buffer a stream starts with. It lives as
// long as the stream, and tens of thousands of streams may be open at once
// (issue 22), so it is sized for a typical chunk line (200 to 400 bytes),
// not the worst case: a longer line doubles it, up to maxEventBytes.
const initialLineBuffer = 512

// errEventTooLarge: an event's data grew past the reader's limit.
var errEventTooLarge = errors.New("server-sent event too large")

// sseEvent is one dispatched server-sent event.
type sseEvent struct {
	// Name is the event field; "" means the default "message".
	Name string
	// Data is the data fields joined with "\n".
	Data string
	// ID is the last event id seen so far.
	ID string
	// Truncated: the body ended before the blank line that dispatches the
	// event, so it may be incomplete.
	Truncated bool
}

// sseReader parses a text/event-stream body per the WHATWG rules: lines end
// in LF, CRLF or a lone CR; lines starting with ':' are comments; "data"
// fields accumulate; a blank line dispatches the event; "event", "id" and
// "retry" are kept; unknown fields are ignored.
type sseReader struct {
	sc     *bufio.Scanner
	max    int
	skipLF bool // the previous line ended in CR: a following LF belongs to it
	first  bool
	lastID string
	retry  time.Duration
	// buf collects an event's data; reused, since Data is a copy.
	buf []byte
}

// newSSEReader reads events from r; max bounds a line and an event's data.
func newSSEReader(r io.Reader, max int) *sseReader {
	sr := &sseReader{max: max, first: true}
	sr.sc = bufio.NewScanner(r)
	// The scanner's limit is the larger of max and the initial capacity.
	sr.sc.Buffer(make([]byte, 0, min(initialLineBuffer, max)), max)
	sr.sc.Split(sr.splitLine)
	return sr
}

// splitLine is a bufio.SplitFunc for LF, CRLF and CR line endings. A CR is
// an end of line at once (so an event is not held back waiting for the next
// byte); an LF right after it is then skipped with the next line. It never
// consumes bytes without returning a line: once the body has ended,
// bufio.Scanner stops at the first call that returns no token, even with
// bytes left.
func (r *sseReader) splitLine(data []byte, atEOF bool) (int, []byte, error) {
	skip := 0
	if r.skipLF && len(data) > 0 && data[0] == '\n' {
		skip = 1 // the LF of a CRLF whose CR ended the previous line
	}
	rest := data[skip:]
	i := bytes.IndexAny(rest, "\r\n")
	switch {
	case i >= 0 && rest[i] == '\n':
		r.skipLF = false
		return skip + i + 1, rest[:i], nil
	case i >= 0 && i+1 < len(rest):
		r.skipLF = false
		if rest[i+1] == '\n' {
			return skip + i + 2, rest[:i], nil
		}
		return skip + i + 1, rest[:i], nil
	case i >= 0: // a CR at the end of what has arrived: an LF may follow
		r.skipLF = true
		return skip + i + 1, rest[:i], nil
	case atEOF && len(rest) > 0:
		r.skipLF = false
		return len(data), rest, nil
	case atEOF:
		return len(data), nil, nil // at most the skipped LF: nothing left
	}
	return 0, nil, nil // more is needed; skipLF holds for the same bytes
}

// Next returns the next event with data. At the end of the body it returns
// a pending event (one whose blank line never came) marked Truncated, then
// io.EOF. Read errors and over-long lines are returned as errors.
func (r *sseReader) Next() (sseEvent, error) {
	var (
		data    = r.buf[:0]
		hasData bool
		name    string
	)
	defer func() { r.buf = data[:0] }()
	for r.sc.Scan() {
		line := r.sc.Bytes()
		if r.first {
			r.first = false
			line = bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF"))
		}
		if len(line) == 0 {
			if !hasData {
				name = "" // an event without data is not dispatched
				continue
			}
			return sseEvent{Name: name, Data: string(data), ID: r.lastID}, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if len(data)+len(value)+1 > r.max {
				return sseEvent{}, fmt.Errorf("%w: over %d bytes", errEventTooLarge, r.max)
			}
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
		case "event":
			name = string(value)
		case "id":
			if !bytes.ContainsRune(value, 0) {
				r.lastID = string(value)
			}
		case "retry":
			if ms, err := strconv.ParseUint(string(value), 10, 32); err == nil && isDigits(value) {
				r.retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return sseEvent{}, fmt.Errorf("%w: line over %d bytes: %w", errEventTooLarge, r.max, err)
		}
		return sseEvent{}, err
	}
	if hasData {
		return sseEvent{Name: name, Data: string(data), ID: r.lastID, Truncated: true}, nil
	}
	return sseEvent{}, io.EOF
}

// Retry is the reconnection time the stream asked for (0 when none).
func (r *sseReader) Retry() time.Duration { return r.retry }

// isDigits reports whether b is non-empty ASCII digits.
func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}
