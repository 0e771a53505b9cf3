// Package faultproxy is a TCP proxy for fault tests. A service under test
// reaches a dependency (PostgreSQL, Redis) through it, and the test switches
// the dependency off and on without stopping the real server, which other
// tests share: Down closes the listener and resets every open connection,
// so the service sees "connection refused" and "connection reset" as when
// the network path to the dependency breaks; DownClosing closes them in an
// orderly way instead (a FIN: the service reads EOF), as when the
// dependency's process dies and its kernel closes the sockets. Up listens
// again on the same address.
package faultproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// dialTimeout bounds the connection to the target for one client.
const dialTimeout = 5 * time.Second

// relistenFor is how long Up retries while the port is briefly taken.
const relistenFor = 5 * time.Second

// Proxy forwards TCP connections from its address to a target. It is safe
// for concurrent use; Down, Up and Close are serialised.
type Proxy struct {
	target string
	addr   string

	op sync.Mutex // serialises Down, Up and Close
	wg sync.WaitGroup

	mu     sync.Mutex
	ln     net.Listener // nil while down
	links  map[*link]struct{}
	closed bool
}

// link is one client connection and its connection to the target.
type link struct {
	client net.Conn
	server net.Conn // nil until dialled
	killed bool     // Down reset it: the pipe must not start
}

// Listen starts a proxy to target (host:port) on a free port of 127.0.0.1.
func Listen(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy listen: %w", err)
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), links: map[*link]struct{}{}}
	p.serve(ln)
	return p, nil
}

// Addr is the proxy's address (host:port), the same across Down and Up.
func (p *Proxy) Addr() string { return p.addr }

// Target is the address connections are forwarded to.
func (p *Proxy) Target() string { return p.target }

// IsUp reports whether the proxy accepts connections.
func (p *Proxy) IsUp() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ln != nil
}

// Open is the number of client connections being forwarded now.
func (p *Proxy) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// Down stops accepting (new connections are refused) and resets every open
// connection on both sides; it returns once nothing is forwarded any more.
// It does nothing when the proxy is already down.
func (p *Proxy) Down() {
	p.op.Lock()
	defer p.op.Unlock()
	p.down(reset)
}

// DownClosing is Down with the clients' connections closed with a FIN
// rather than reset: a client sees its connection end (EOF), and its next
// write to it is answered with a reset by its own peer's kernel.
func (p *Proxy) DownClosing() {
	p.op.Lock()
	defer p.op.Unlock()
	p.down(func(c net.Conn) { _ = c.Close() })
}

// down stops the listener and ends every link, the client side with end.
func (p *Proxy) down(end func(net.Conn)) {
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	for l := range p.links {
		l.killed = true
		end(l.client)
		if l.server != nil {
			reset(l.server)
		}
	}
	p.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	// No goroutine starts while ln is nil, so Wait cannot race with Add.
	p.wg.Wait()
}

// Up listens again on the proxy's address; it does nothing when the proxy
// is up. The port was the proxy's, but another socket may grab it while it
// is down: Up retries for a few seconds before it gives up.
func (p *Proxy) Up() error {
	p.op.Lock()
	defer p.op.Unlock()
	p.mu.Lock()
	up, closed := p.ln != nil, p.closed
	p.mu.Unlock()
	switch {
	case closed:
		return errors.New("faultproxy: closed")
	case up:
		return nil
	}
	deadline := time.Now().Add(relistenFor)
	for {
		ln, err := net.Listen("tcp", p.addr)
		if err == nil {
			p.serve(ln)
			return nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return fmt.Errorf("faultproxy listen again on %s: %w", p.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Close takes the proxy down for good.
func (p *Proxy) Close() {
	p.op.Lock()
	defer p.op.Unlock()
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.down(reset)
}

// serve accepts on ln until it is closed. p.op is held or p is new.
func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				return // closed by Down
			}
			l := &link{client: c}
			p.mu.Lock()
			if p.ln != ln { // Down ran between Accept and here
				p.mu.Unlock()
				reset(c)
				continue
			}
			p.links[l] = struct{}{}
			p.wg.Add(1)
			p.mu.Unlock()
			go p.forward(l)
		}
	}()
}

// forward dials the target for l and copies both ways until either side
// ends. A target that cannot be reached resets the client, as a dead
// server would.
func (p *Proxy) forward(l *link) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.links, l)
		p.mu.Unlock()
	}()
	server, err := net.DialTimeout("tcp", p.target, dialTimeout)
	p.mu.Lock()
	killed := l.killed
	if err == nil && !killed {
		l.server = server
	}
	p.mu.Unlock()
	if err != nil || killed {
		reset(l.client)
		if server != nil {
			reset(server)
		}
		return
	}

	errc := make(chan error, 2)
	go func() { errc <- pipe(server, l.client) }()
	go func() { errc <- pipe(l.client, server) }()
	for range 2 {
		if err := <-errc; err != nil {
			// One side failed (or Down reset it): fail the other too, as a
			// broken network path would.
			reset(l.client)
			reset(server)
		}
	}
	_ = l.client.Close()
	_ = server.Close()
}

// pipe copies src to dst and passes a clean end of src on as a half-close
// of dst, so that a client's or server's orderly close is forwarded as one.
func pipe(dst, src net.Conn) error {
	if _, err := io.Copy(dst, src); err != nil {
		return err
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		return tc.CloseWrite()
	}
	return nil
}

// reset closes c with an RST instead of a FIN: the peer's next read or
// write fails with "connection reset by peer", as when a server process
// dies or a network path breaks.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
