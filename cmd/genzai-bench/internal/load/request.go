package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"time"
)

// outcome is what one request measured; err is "" on success, else the
// kind of failure.
type outcome struct {
	err     string
	stream  bool
	latency time.Duration
	ttft    time.Duration
	tokens  int
	gaps    []time.Duration
}

// maxBody bounds what is read of a plain answer or an error.
const maxBody = 1 << 20

// do sends request n, scheduled at due, and reads the answer to the end.
func (r *Runner) do(ctx context.Context, n uint64, due time.Time, stream bool, timeout time.Duration) outcome {
	ctx, cancel := context.WithDeadline(ctx, due.Add(timeout))
	defer cancel()
	o := outcome{stream: stream}
	body := r.bodies[0]
	if stream {
		body = r.bodies[1]
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.target.URL, bytes.NewReader(body))
	if err != nil {
		o.err = "bad_request"
		return o
	}
	req.Header = make(http.Header, len(r.target.Header)+3)
	for k, v := range r.target.Header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	if tokens := r.target.Tokens; len(tokens) > 0 {
		req.Header.Set("Authorization", "Bearer "+tokens[n%uint64(len(tokens))])
	}
	res, err := r.client.Do(req)
	if err != nil {
		o.err = classify(ctx, err)
		return o
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		o.err = statusError(res)
		return o
	}
	r.opened()
	defer r.closed()
	if !stream {
		b, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
		if err != nil {
			o.err = classify(ctx, err)
			return o
		}
		if !answered(b) {
			o.err = "empty_answer"
			return o
		}
		o.latency = time.Since(due)
		return o
	}
	var read func(*lineReader, *outcome, time.Time) error
	if r.target.Protocol == Gateway {
		read = readGatewayStream
	} else {
		read = readOpenAIStream
	}
	if err := read(newLineReader(res.Body), &o, due); err != nil {
		if errors.Is(err, errStream) {
			o.err = err.Error()
		} else {
			o.err = classify(ctx, err)
		}
		return o
	}
	o.latency = time.Since(due)
	// Drain what follows the end so that the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxBody))
	if o.tokens == 0 {
		o.err = "no_tokens"
	}
	return o
}

// answered reports whether a plain answer (genzai's or OpenAI's) carries
// some content.
func answered(b []byte) bool {
	i := bytes.Index(b, []byte(`"content":`))
	if i < 0 {
		return false
	}
	rest := bytes.TrimLeft(b[i+len(`"content":`):], " ")
	return len(rest) > 2 && rest[0] == '"' && rest[1] != '"'
}

// streamError is a failure the stream itself reported or implied; its
// text is the error kind.
type streamError string

func (e streamError) Error() string { return string(e) }

// Is makes every streamError match errStream.
func (e streamError) Is(target error) bool { return target == errStream }

var errStream = streamError("stream")

// token records a token arriving now.
func (o *outcome) token(due time.Time, prev *time.Time) {
	now := time.Now()
	if o.tokens == 0 {
		o.ttft = now.Sub(due)
	} else {
		o.gaps = append(o.gaps, now.Sub(*prev))
	}
	*prev = now
	o.tokens++
}

// readGatewayStream reads genzai's event stream up to "event: done".
func readGatewayStream(lr *lineReader, o *outcome, due time.Time) error {
	var prev time.Time
	event := ""
	for {
		line, err := lr.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return streamError("stream_cut")
			}
			return err
		}
		switch {
		case len(line) == 0:
			event = ""
		case line[0] == ':':
		case bytes.HasPrefix(line, []byte("event:")):
			event = string(bytes.TrimSpace(line[len("event:"):]))
		case bytes.HasPrefix(line, []byte("data:")):
			data := bytes.TrimSpace(line[len("data:"):])
			switch event {
			case "":
				if len(data) > 0 && data[0] == '"' {
					o.token(due, &prev)
				}
			case "done":
				return nil
			case "error":
				var e struct {
					Code string `json:"code"`
				}
				_ = json.Unmarshal(data, &e)
				return streamError("stream_error_" + nonEmpty(e.Code, "unknown"))
			}
		}
	}
}

// openAIChunk is the part of a chat.completion.chunk that is read.
type openAIChunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
	} `json:"choices"`
	Error json.RawMessage `json:"error"`
}

// readOpenAIStream reads an OpenAI event stream up to "data: [DONE]".
func readOpenAIStream(lr *lineReader, o *outcome, due time.Time) error {
	var prev time.Time
	event := ""
	for {
		line, err := lr.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return streamError("stream_cut")
			}
			return err
		}
		switch {
		case len(line) == 0:
			event = ""
		case bytes.HasPrefix(line, []byte("event:")):
			event = string(bytes.TrimSpace(line[len("event:"):]))
		case bytes.HasPrefix(line, []byte("data:")):
			data := bytes.TrimSpace(line[len("data:"):])
			if bytes.Equal(data, []byte("[DONE]")) {
				return nil
			}
			if event == "error" {
				return streamError("stream_error")
			}
			var ch openAIChunk
			if err := json.Unmarshal(data, &ch); err != nil {
				return streamError("bad_chunk")
			}
			if len(ch.Error) > 0 && string(ch.Error) != "null" {
				return streamError("stream_error")
			}
			if len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != "" {
				o.token(due, &prev)
			}
		}
	}
}

// lineReader reads lines of any length without the line ending.
type lineReader struct {
	br  *bufio.Reader
	buf []byte
}

func newLineReader(r io.Reader) *lineReader { return &lineReader{br: bufio.NewReaderSize(r, 4096)} }

// next returns the next line, valid until the next call.
func (lr *lineReader) next() ([]byte, error) {
	line, err := lr.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		lr.buf = append(lr.buf[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = lr.br.ReadSlice('\n')
			lr.buf = append(lr.buf, line...)
		}
		line = lr.buf
	}
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) > 0 {
			return bytes.TrimRight(line, "\r\n"), nil
		}
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

// statusError names a non-200 answer: "http_<status>", with the gateway's
// error code when the body has one ("http_503_providers_unavailable").
func statusError(res *http.Response) string {
	kind := "http_" + strconv.Itoa(res.StatusCode)
	b, _ := io.ReadAll(io.LimitReader(res.Body, maxBody))
	var e struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(b, &e) == nil && e.Code != "" && len(e.Code) <= 40 {
		kind += "_" + e.Code
	}
	return kind
}

// classify names a transport failure.
func classify(ctx context.Context, err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return "no_local_port"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too_many_open_files"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection_reset"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "unexpected_eof"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "transport"
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
