package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/genzai/genzai/app"
)

func (c *cli) serveCmd() *cobra.Command {
	var host string
	var port int
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway HTTP server (applies pending migrations first)",
		Example: `  genzai serve
  genzai serve --host 127.0.0.1 --port 9000
  ENV=production DATABASE_URL=postgres://... JWT_SECRET=... genzai serve`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("host") {
				cfg.Host = host
			}
			if cmd.Flags().Changed("port") {
				if port < 0 || port > 65535 {
					return fmt.Errorf("--port %d is not a port number (0 picks a free port)", port)
				}
				cfg.Port = port
			}
			return serve(cmd.Context(), cfg, c)
		},
	}
	cmd.Flags().StringVar(&host, "host", "0.0.0.0", "address to listen on (default from HOST)")
	cmd.Flags().IntVar(&port, "port", 8000, "port to listen on; 0 picks a free one (default from PORT)")
	return cmd
}

// serve runs the server until ctx ends, then shuts down gracefully: it stops
// accepting, lets in-flight requests finish within ShutdownTimeout (streams
// still open shortly before it end with an error event, code
// shutting_down) and closes the database pool.
func serve(ctx context.Context, cfg app.Config, c *cli) error {
	logger := app.NewLogger(cfg, c.stderr)
	cfg, err := app.KeepDevSecret(cfg)
	if err != nil {
		return err
	}
	switch {
	case cfg.JWTSecretFile != "":
		logger.Info("JWT_SECRET is not set: using the development secret kept on disk; tokens survive restarts", "file", cfg.JWTSecretFile)
	case cfg.JWTSecretGenerated:
		logger.Warn("JWT_SECRET is not set: using a random secret; tokens stop working when the server restarts")
	}
	logger.Debug("configuration", "config", cfg)

	a, err := app.New(ctx, cfg, logger, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler: a.Handler,
		// Slow clients cannot hold connections: bounded header reads and
		// idle keep-alives. No server-wide ReadTimeout or WriteTimeout: a
		// write deadline would cut long streams. Instead the API bounds each
		// body in size and time (httpapi's body deadline) and each stream
		// write has its own deadline.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	// Requests run under a context of their own that shutdown cancels
	// shortly before its deadline (see endStreamsBefore).
	requestsCtx, cancelRequests := context.WithCancelCause(context.Background())
	defer cancelRequests(nil)
	srv.BaseContext = func(net.Listener) context.Context { return requestsCtx }
	setProtocols(srv, cfg)
	debug, err := startPprof(cfg.PprofAddr, logger)
	if err != nil {
		_ = ln.Close()
		return err
	}
	scrape, err := startMetrics(cfg.MetricsAddr, a.MetricsHandler, logger)
	if err != nil {
		debug.close()
		_ = ln.Close()
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String(), "env", cfg.Env, "version", cfg.Version,
		"store", a.Database.Engine, "docs", baseURL(cfg.Host, ln.Addr())+"/docs")
	if !cfg.Production() {
		printBanner(c.stdout, cfg, a.Database, ln.Addr())
	}

	select {
	case err := <-errc:
		debug.close()
		scrape.close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Shutdown closes the listener at once (readiness probes are refused
	// from then on) and waits for the requests in flight. Those still
	// running shortly before the deadline are cancelled with
	// ErrShuttingDown: a stream then ends with an error event, written while
	// the connection is still open, instead of being cut mid-answer when
	// the deadline closes every connection.
	endRequests := time.AfterFunc(cfg.ShutdownTimeout-endStreamsBefore(cfg.ShutdownTimeout), func() {
		logger.Info("ending the requests still running", "deadline_in", endStreamsBefore(cfg.ShutdownTimeout).String())
		cancelRequests(app.ErrShuttingDown)
	})
	defer endRequests.Stop()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		debug.close()
		scrape.close()
		return fmt.Errorf("shutdown: %w", err)
	}
	debug.shutdown(shutdownCtx)
	// Scraped until the end, so that the last requests show in the metrics.
	scrape.shutdown(shutdownCtx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// endStreamsBefore is how long before the shutdown deadline the requests
// still running are ended: a quarter of the timeout, from 1 s to 2 s, and
// at most half of it. Long enough for the handlers to write their last
// event and for http.Server.Shutdown, which looks for finished connections
// every 500 ms at most, to see them done before the deadline.
func endStreamsBefore(timeout time.Duration) time.Duration {
	return min(max(timeout/4, time.Second), 2*time.Second, timeout/2)
}

// setProtocols enables HTTP/2 without TLS (prior knowledge) beside HTTP/1.1
// when configured. HTTP/2 keeps its own idle and header limits in step with
// the server's; the per-stream write deadlines of the SSE writer apply to
// both protocols.
func setProtocols(srv *http.Server, cfg app.Config) {
	if !cfg.HTTP2Cleartext {
		return
	}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv.Protocols = &p
	srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: cfg.HTTP2MaxStreams}
}

// pprofServer is an optional listener beside the API (profiling,
// metrics); a nil *pprofServer is off and its methods do nothing.
type pprofServer struct {
	srv  *http.Server
	done chan struct{} // closed when Serve has returned
}

// startPprof serves net/http/pprof on addr ("" = off) with its own mux and
// server, apart from the API. The package's import also registers its
// handlers on http.DefaultServeMux, which nothing in genzai serves.
func startPprof(addr string, logger *slog.Logger) (*pprofServer, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // also serves heap, goroutine, allocs, block, mutex, threadcreate
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	p := serveSide(ln, mux, "pprof", logger)
	level, msg := slog.LevelInfo, "pprof listening"
	if host, _, err := net.SplitHostPort(ln.Addr().String()); err == nil && !net.ParseIP(host).IsLoopback() {
		level, msg = slog.LevelWarn, "pprof listening on a non-loopback address: it exposes memory contents"
	}
	logger.Log(context.Background(), level, msg, "addr", ln.Addr().String())
	return p, nil
}

// serveSide serves h on ln in the background: a listener beside the API
// (pprof, metrics).
func serveSide(ln net.Listener, h http.Handler, name string, logger *slog.Logger) *pprofServer {
	p := &pprofServer{
		srv: &http.Server{
			Handler: h,
			// No WriteTimeout: a CPU profile or trace streams for as many
			// seconds as asked (pprof refuses more than WriteTimeout).
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(p.done)
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error(name+" server stopped", "error", err)
		}
	}()
	return p
}

// startMetrics serves GET /metrics alone on addr ("" = off: the API port
// serves it), apart from the API, for a scraper on a private network.
func startMetrics(addr string, h http.Handler, logger *slog.Logger) (*pprofServer, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	p := serveSide(ln, h, "metrics", logger)
	logger.Info("metrics listening", "addr", ln.Addr().String())
	return p, nil
}

// shutdown stops the listener gracefully within ctx (a profile being taken
// may run until then), then closes what is left.
func (p *pprofServer) shutdown(ctx context.Context) {
	if p == nil {
		return
	}
	if err := p.srv.Shutdown(ctx); err != nil {
		_ = p.srv.Close()
	}
	<-p.done
}

// close stops the listener at once.
func (p *pprofServer) close() {
	if p == nil {
		return
	}
	_ = p.srv.Close()
	<-p.done
}
