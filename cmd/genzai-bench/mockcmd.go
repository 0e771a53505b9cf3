package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/genzai/genzai/cmd/genzai-bench/internal/mock"
)

// runMock serves only the mock upstream until ctx ends, for measuring
// by hand or pointing another gateway at it.
func runMock(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("genzai-bench mock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	useTLS := fs.Bool("tls", false, "serve HTTPS (HTTP/2) with a self-signed certificate, printed at start")
	var p mock.Profile
	fs.DurationVar(&p.TTFT, "ttft", 20*time.Millisecond, "wait before the first token (with --interval 0: the latency of the whole answer)")
	fs.IntVar(&p.Tokens, "tokens", 50, "tokens of an answer")
	fs.DurationVar(&p.Interval, "interval", 20*time.Millisecond, "time between tokens; a non-streamed answer comes whole when its last token would have")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv, err := mock.Start(mock.New(p), *addr, *useTLS)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mock OpenAI-compatible upstream at %s/v1 (%s)\n", srv.URL, p)
	if srv.CertPEM != nil {
		fmt.Fprintf(stderr, "its certificate (trust it with SSL_CERT_FILE):\n%s", srv.CertPEM)
	}
	<-ctx.Done()
	return srv.Close()
}
