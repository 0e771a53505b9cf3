// Package smtptest runs an in-process SMTP server on 127.0.0.1 for tests: it
// accepts every message (optionally after AUTH PLAIN) and keeps it, so that
// tests can read what the gateway mailed and follow its links.
package smtptest

import (
	"bufio"
	"encoding/base64"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one mail the server accepted.
type Message struct {
	From string
	To   []string
	// Header and Body are the parsed DATA; Body has CRLF turned into LF and
	// dot-stuffing undone.
	Header mail.Header
	Body   string
	// Auth is the "user:password" of AUTH PLAIN, "" without.
	Auth string
}

// Server is a running SMTP server.
type Server struct {
	// Addr is host:port.
	Addr string
	ln   net.Listener

	mu       sync.Mutex
	messages []Message
	arrived  chan struct{}
	wg       sync.WaitGroup
}

// Start listens on 127.0.0.1:0 and serves until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln, arrived: make(chan struct{}, 1024)}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
	})
	return s
}

// URL is the server's smtp:// URL with the given user info ("" for none).
func (s *Server) URL(userinfo string) string {
	if userinfo != "" {
		userinfo += "@"
	}
	return "smtp://" + userinfo + s.Addr
}

// Messages returns the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// WaitFor waits until at least n messages arrived and returns them; it fails
// the test after 10 seconds.
func (s *Server) WaitFor(t testing.TB, n int) []Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if msgs := s.Messages(); len(msgs) >= n {
			return msgs
		}
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("smtptest: %d messages after 10s, want %d", len(s.Messages()), n)
		}
	}
}

var tokenRE = regexp.MustCompile(`[?&]token=([A-Za-z0-9_.%-]+)`)

// Token returns the token of the first link in m whose path is path (such as
// "/verify-email"); it fails the test when there is none.
func (m Message) Token(t testing.TB, path string) string {
	t.Helper()
	for _, line := range strings.Split(m.Body, "\n") {
		i := strings.Index(line, path+"?token=")
		if i < 0 {
			continue
		}
		if sub := tokenRE.FindStringSubmatch(line[i:]); sub != nil {
			token, err := url.QueryUnescape(sub[1])
			if err != nil {
				t.Fatalf("smtptest: link token %q: %v", sub[1], err)
			}
			return token
		}
	}
	t.Fatalf("smtptest: no %s link in:\n%s", path, m.Body)
	return ""
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(conn)
		}()
	}
}

// session speaks enough SMTP (RFC 5321) for net/smtp: EHLO, AUTH PLAIN,
// MAIL, RCPT, DATA, RSET, NOOP, QUIT.
func (s *Server) session(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	reply := func(lines ...string) bool {
		_, err := conn.Write([]byte(strings.Join(lines, "\r\n") + "\r\n"))
		return err == nil
	}
	if !reply("220 smtptest ready") {
		return
	}
	var cur Message
	var auth string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			reply("250-smtptest", "250-8BITMIME", "250 AUTH PLAIN")
		case "HELO":
			reply("250 smtptest")
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			raw, err := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(raw), "\x00")
			if !strings.EqualFold(mech, "PLAIN") || err != nil || len(parts) != 3 {
				reply("535 authentication failed")
				continue
			}
			auth = parts[1] + ":" + parts[2]
			reply("235 ok")
		case "MAIL":
			cur = Message{From: addrArg(arg), Auth: auth}
			reply("250 ok")
		case "RCPT":
			cur.To = append(cur.To, addrArg(arg))
			reply("250 ok")
		case "DATA":
			reply("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				l = strings.TrimRight(l, "\r\n")
				if l == "." {
					break
				}
				b.WriteString(strings.TrimPrefix(l, ".") + "\n")
			}
			msg, err := mail.ReadMessage(strings.NewReader(b.String()))
			if err != nil {
				reply("554 malformed message")
				continue
			}
			body := new(strings.Builder)
			_, _ = bufio.NewReader(msg.Body).WriteTo(body)
			cur.Header, cur.Body = msg.Header, body.String()
			s.mu.Lock()
			s.messages = append(s.messages, cur)
			s.mu.Unlock()
			s.arrived <- struct{}{}
			reply("250 queued")
		case "RSET":
			cur = Message{Auth: auth}
			reply("250 ok")
		case "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 command not implemented")
		}
	}
}

// addrArg reads the address of "FROM:<a@b>" or "TO:<a@b>".
func addrArg(arg string) string {
	_, v, _ := strings.Cut(arg, ":")
	v, _, _ = strings.Cut(strings.TrimSpace(v), " ")
	return strings.Trim(v, "<>")
}
