package faultproxy_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/internal/faultproxy"
)

// ioTimeout bounds every read and dial of these tests: a broken proxy
// fails them instead of hanging.
const ioTimeout = 5 * time.Second

// echoServer answers every line with the same line until the client closes;
// closed counts the connections it saw end.
type echoServer struct {
	ln     net.Listener
	mu     sync.Mutex
	closed int
}

func startEcho(t *testing.T) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	e := &echoServer{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
				e.mu.Lock()
				e.closed++
				e.mu.Unlock()
			})
		}
	})
	return e
}

func (e *echoServer) addr() string { return e.ln.Addr().String() }

func (e *echoServer) closedConns() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

func startProxy(t *testing.T, target string) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Listen(target)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(ioTimeout)))
	return c
}

// roundTrip sends a line and reads its echo.
func roundTrip(c net.Conn, line string) (string, error) {
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	return got, err
}

// waitFor polls cond every few milliseconds for up to ioTimeout.
func waitFor(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			require.FailNow(t, "timed out: "+msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// isReset reports the error of a connection the peer reset (or, on a
// write racing the reset, a broken pipe).
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func TestProxyForwards(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p := startProxy(t, echo.addr())
	assert.True(t, p.IsUp())
	assert.Equal(t, echo.addr(), p.Target())

	// Several clients at once, each its own connection to the target.
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", p.Addr(), ioTimeout)
			if !assert.NoError(t, err) {
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(ioTimeout))
			line := string(rune('a' + i))
			got, err := roundTrip(c, line)
			assert.NoError(t, err)
			assert.Equal(t, line+"\n", got)
		})
	}
	wg.Wait()
	// Clients closed in an orderly way: the target saw each close, and the
	// proxy forgot the links.
	waitFor(t, func() bool { return echo.closedConns() == 5 }, "the target sees every client close")
	waitFor(t, func() bool { return p.Open() == 0 }, "no link left open")
}

func TestProxyDownAndUp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		down func(*faultproxy.Proxy)
		// ended checks the error of a read on a connection open at the
		// time: failing at once, not timing out.
		ended func(error) bool
	}{
		{"Down resets", (*faultproxy.Proxy).Down, isReset},
		{"DownClosing closes", (*faultproxy.Proxy).DownClosing, func(err error) bool { return errors.Is(err, io.EOF) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			echo := startEcho(t)
			p := startProxy(t, echo.addr())
			addr := p.Addr()

			c := dial(t, addr)
			got, err := roundTrip(c, "before")
			require.NoError(t, err)
			require.Equal(t, "before\n", got)
			require.Equal(t, 1, p.Open())

			tc.down(p)
			tc.down(p) // idempotent
			assert.False(t, p.IsUp())
			assert.Equal(t, 0, p.Open(), "Down returns once nothing is forwarded")
			_, err = c.Read(make([]byte, 1))
			assert.True(t, tc.ended(err), "read after the proxy went down: %v", err)
			waitFor(t, func() bool { return echo.closedConns() == 1 }, "the target side was reset too")

			// New connections are refused.
			_, err = net.DialTimeout("tcp", addr, ioTimeout)
			assert.ErrorIs(t, err, syscall.ECONNREFUSED)

			// Up listens on the same address and forwards again.
			require.NoError(t, p.Up())
			require.NoError(t, p.Up()) // idempotent
			assert.True(t, p.IsUp())
			assert.Equal(t, addr, p.Addr())
			c2 := dial(t, addr)
			got, err = roundTrip(c2, "after")
			require.NoError(t, err)
			assert.Equal(t, "after\n", got)

			// And goes down again just as well.
			tc.down(p)
			_, err = c2.Read(make([]byte, 1))
			assert.True(t, tc.ended(err), "read after the second down: %v", err)
		})
	}
}

func TestProxyTargetUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now

	p := startProxy(t, dead)
	// The proxy accepts, cannot reach the target and resets the client:
	// the client fails fast, as with a dead server behind a load balancer
	// (so fast that the reset may already fail the dial).
	c, err := net.DialTimeout("tcp", p.Addr(), ioTimeout)
	if err == nil {
		defer c.Close()
		require.NoError(t, c.SetDeadline(time.Now().Add(ioTimeout)))
		_, err = c.Read(make([]byte, 1))
	}
	assert.True(t, isReset(err), "a connection through a proxy to nothing: %v", err)
	waitFor(t, func() bool { return p.Open() == 0 }, "the link is dropped")
}

func TestProxyClose(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	p, err := faultproxy.Listen(echo.addr())
	require.NoError(t, err)
	c := dial(t, p.Addr())
	_, err = roundTrip(c, "x")
	require.NoError(t, err)

	p.Close()
	_, err = c.Read(make([]byte, 1))
	assert.True(t, isReset(err), "read after Close: %v", err)
	assert.Error(t, p.Up(), "a closed proxy does not come back")
	assert.False(t, p.IsUp())
	p.Close() // idempotent
}
