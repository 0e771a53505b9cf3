// Command genzai-bench is the gateway's benchmark harness: it starts a mock
// OpenAI-compatible upstream, the gateway configured against it on
// PostgreSQL, and a load generator, runs every scenario directly against
// the mock and through the gateway, and reports both and their ratio (see
// bench/README.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "genzai-bench:", err)
		os.Exit(1)
	}
}

// run runs the harness (or, with "mock" first, only the mock upstream).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "mock" {
		return runMock(ctx, args[1:], stderr)
	}
	o, err := parseOptions(args, getenv, stderr)
	if err != nil {
		return err
	}
	h := &harness{o: o, stdout: stdout, stderr: stderr, getenv: getenv}
	defer h.tearDown()
	if err := h.setUp(ctx); err != nil {
		return err
	}
	var runErr error
	for _, name := range o.scenarios {
		s := o.scenario(name)
		h.logf("scenario %s: %s", s.name, s.description)
		rs, err := h.runScenario(ctx, s)
		if rs != nil && len(rs.Phases) > 0 {
			h.result.Scenarios = append(h.result.Scenarios, rs)
		}
		if err != nil {
			runErr = fmt.Errorf("scenario %s: %w", name, err)
			break
		}
	}
	if len(h.result.Scenarios) > 0 {
		h.describeMachine(ctx)
		base, err := h.writeResults()
		if err != nil {
			return errors.Join(runErr, err)
		}
		h.logf("results: %s.json and %s.md", base, base)
	}
	return runErr
}
