package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/genzai/genzai/api"
)

// usageError is a wrong command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// apiError is a non-2xx answer of the server, printed with its request id.
type apiError struct {
	status int
	body   map[string]any
	// sentToken is whether the request carried a token: a refused one asks
	// to log in again, a missing one to log in.
	sentToken bool
	// hint is what to do next, for the command that got the answer.
	hint string
}

func (e *apiError) Error() string {
	msg, _ := e.body["error"].(string)
	if msg == "" {
		msg = http.StatusText(e.status)
	}
	if used, ok := e.body["used"].(float64); ok {
		if limit, ok := e.body["limit"].(float64); ok {
			msg += fmt.Sprintf(" (used %d of %d)", int(used), int(limit))
		}
	}
	if ra, ok := e.body["retry_after"].(float64); ok {
		msg += fmt.Sprintf(" (retry in %ds)", int(ra))
	}
	switch e.body["code"] {
	case "token_expired", "unauthorized":
		if e.sentToken {
			msg += "; log in again with: genzai login"
		} else {
			msg += "; log in with: genzai login"
		}
	}
	if e.hint != "" {
		msg += "; " + e.hint
	}
	if id, ok := e.body["request_id"].(string); ok && id != "" {
		msg += " [request " + id + "]"
	}
	return msg
}

// conn is what a client command needs: the server, a token and how to print.
type conn struct {
	host   string
	token  string
	json   bool
	client *api.ClientWithResponses
	http   *http.Client
}

// clientFlags are the flags every client command shares.
type clientFlags struct {
	host, token, output string
}

func (f *clientFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.host, "host", "", "server URL (default: GENZAI_HOST, the config file, then "+defaultHost+")")
	cmd.Flags().StringVar(&f.token, "token", "", "access token (default: GENZAI_TOKEN, then the config file)")
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "output format: text or json")
}

func (c *cli) env(key string) string {
	v, _ := c.lookupEnv(key)
	return v
}

// connect resolves flag > environment > config file > default.
func (c *cli) connect(f clientFlags) (*conn, error) {
	s, err := c.loadSettings()
	if err != nil {
		return nil, err
	}
	pick := func(vals ...string) string {
		for _, v := range vals {
			if v != "" {
				return v
			}
		}
		return ""
	}
	cn := &conn{
		host:  strings.TrimRight(pick(f.host, c.env("GENZAI_HOST"), s.Host, defaultHost), "/"),
		token: pick(f.token, c.env("GENZAI_TOKEN"), s.Token),
		http:  &http.Client{},
	}
	switch out := pick(f.output, s.Output, "text"); out {
	case "text":
	case "json":
		cn.json = true
	default:
		return nil, usageErrorf("--output must be text or json")
	}
	cn.client, err = api.NewClientWithResponses(cn.host, api.WithHTTPClient(cn.http), api.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		if cn.token != "" {
			r.Header.Set("Authorization", "Bearer "+cn.token)
		}
		return nil
	}))
	if err != nil {
		return nil, usageErrorf("host %q: %v", cn.host, err)
	}
	return cn, nil
}

// check turns a transport error or a non-2xx answer into a printable
// error; res is only called when there was an answer.
func (cn *conn) check(err error, res func() (int, []byte)) error {
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			// The host answers but nothing listens: most likely the server
			// is not running, rather than the host being wrong.
			return fmt.Errorf("no server answers at %s (connection refused); start one with: genzai serve, "+
				"or check the host (genzai config get host shows which is used and why)", cn.host)
		}
		return fmt.Errorf("cannot reach %s (%v); set the server with: genzai config set host URL", cn.host, unwrapURLError(err))
	}
	return cn.checkStatus(res())
}

// checkStatus turns a non-2xx answer into an *apiError.
func (cn *conn) checkStatus(status int, body []byte) error {
	if status >= 200 && status < 300 {
		return nil
	}
	ae := &apiError{status: status, body: map[string]any{}, sentToken: cn.token != ""}
	_ = json.Unmarshal(body, &ae.body)
	return ae
}

func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		return ue.Unwrap()
	}
	return err
}

// printJSON writes the server's JSON as it came, indented.
func printJSON(w io.Writer, body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		_, err := w.Write(body)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func ago(t time.Time) string {
	d := time.Since(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String() + " ago"
}
