package load

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// NewClient returns an HTTP client for generating load: no proxy, no
// compression, keep-alive with up to maxConns idle connections per host,
// and connections to loopback targets spread over the source addresses
// sources (127.0.0.0/8 is all routed to lo on Linux), so that tens of
// thousands of connections do not run out of local ports on one address.
// Servers with a certificate from roots are trusted besides the system's
// (nil: the system's only). With h2only, plain http:// URLs are spoken to
// in HTTP/2 with prior knowledge (h2c) and https:// ones in HTTP/2, so
// that many requests share a connection.
func NewClient(maxConns int, sources []net.IP, roots *x509.CertPool, h2only bool) *http.Client {
	var next atomic.Uint64
	base := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil || len(sources) == 0 {
			return base.DialContext(ctx, network, addr)
		}
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() || ip.To4() == nil {
			return base.DialContext(ctx, network, addr)
		}
		d := *base
		d.LocalAddr = &net.TCPAddr{IP: sources[next.Add(1)%uint64(len(sources))]}
		d.Control = bindNoPort
		return d.DialContext(ctx, "tcp4", addr)
	}
	var protocols *http.Protocols
	if h2only {
		protocols = new(http.Protocols)
		protocols.SetHTTP2(true)
		protocols.SetUnencryptedHTTP2(true)
	}
	return &http.Client{Transport: &http.Transport{
		Protocols:             protocols,
		Proxy:                 nil,
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          0, // no overall bound
		MaxIdleConnsPerHost:   max(maxConns, 2),
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		TLSHandshakeTimeout:   10 * time.Second,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		ExpectContinueTimeout: time.Second,
	}}
}

// SourceAddrs returns n loopback source addresses starting at 127.0.0.2
// (127.0.0.1 is left to the gateway's own connections to the mock).
func SourceAddrs(n int) []net.IP {
	out := make([]net.IP, 0, n)
	for i := range n {
		out = append(out, net.IPv4(127, 0, byte((i+2)/256), byte((i+2)%256)))
	}
	return out
}
