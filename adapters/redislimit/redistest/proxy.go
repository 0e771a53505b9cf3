package redistest

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Proxy stands between clients and a Redis server, passes every byte on
// and notes the commands clients send, like MONITOR for the clients that
// go through it alone: tests count a request's round trips with it.
type Proxy struct {
	url string
	ln  net.Listener

	mu sync.Mutex
	// commands are the names of the commands sent, in order (EVALSHA,
	// GET, ...); a pipeline's commands are noted one by one.
	commands []string
	// writes counts the client writes that carried commands: one per round
	// trip, a pipeline being one.
	writes int
}

// NewCountingProxy starts a Proxy in front of the Redis server at rawURL
// (as NewURL returns) for the test's duration.
func NewCountingProxy(t testing.TB, rawURL string) *Proxy {
	t.Helper()
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: listen: %v", err)
	}
	p := &Proxy{ln: ln, url: strings.Replace(rawURL, opts.Addr, ln.Addr().String(), 1)}
	var wg sync.WaitGroup
	wg.Go(func() { p.serve(opts.Addr, &wg) })
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	return p
}

// URL is the proxy's Redis URL: the server's, with the proxy's address.
func (p *Proxy) URL() string { return p.url }

// Commands returns the names of the commands sent since the last Reset.
func (p *Proxy) Commands() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.commands...)
}

// RoundTrips returns how many client writes carried commands since the
// last Reset.
func (p *Proxy) RoundTrips() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writes
}

// Reset forgets what was noted so far.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.commands, p.writes = nil, 0
}

func (p *Proxy) serve(addr string, wg *sync.WaitGroup) {
	var conns []net.Conn
	var mu sync.Mutex
	defer func() {
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	}()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", addr)
		if err != nil {
			_ = client.Close()
			continue
		}
		mu.Lock()
		conns = append(conns, client, server)
		mu.Unlock()
		wg.Go(func() {
			_, _ = io.Copy(client, server)
			_ = client.Close()
		})
		wg.Go(func() {
			p.forward(client, server)
			_ = server.Close()
		})
	}
}

// forward copies what a client sends to the server, noting the commands.
// A client writes a command (or a pipeline) whole and then waits for the
// answer, so each read that ends at a command's end is one round trip.
func (p *Proxy) forward(client, server net.Conn) {
	r := bufio.NewReader(client)
	for {
		name, raw, err := readCommand(r)
		if err != nil {
			return
		}
		p.mu.Lock()
		p.commands = append(p.commands, name)
		if r.Buffered() == 0 {
			p.writes++ // nothing more in this write: the client now waits
		}
		p.mu.Unlock()
		if _, err := server.Write(raw); err != nil {
			return
		}
	}
}

// readCommand reads one RESP command (an array of bulk strings) and
// returns its upper-cased name and its bytes.
func readCommand(r *bufio.Reader) (string, []byte, error) {
	head, err := r.ReadBytes('\n')
	if err != nil {
		return "", nil, err
	}
	raw := append([]byte(nil), head...)
	if len(head) < 3 || head[0] != '*' {
		return strings.TrimSpace(string(head)), raw, nil // an inline command
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(head[1:])))
	if err != nil {
		return "", nil, err
	}
	name := ""
	for i := range n {
		size, err := r.ReadBytes('\n')
		if err != nil {
			return "", nil, err
		}
		raw = append(raw, size...)
		l, err := strconv.Atoi(strings.TrimSpace(string(size[1:])))
		if err != nil {
			return "", nil, err
		}
		data := make([]byte, l+2)
		if _, err := io.ReadFull(r, data); err != nil {
			return "", nil, err
		}
		raw = append(raw, data...)
		if i == 0 {
			name = strings.ToUpper(string(data[:l]))
		}
	}
	return name, raw, nil
}
