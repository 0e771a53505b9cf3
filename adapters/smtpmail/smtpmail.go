// Package smtpmail sends the gateway's mail through an SMTP server with
// net/smtp: smtp://user:pass@host:port upgrades with STARTTLS whenever the
// server offers it, smtps://... speaks TLS from the first byte.
package smtpmail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/url"
	"strings"
	"time"

	"github.com/genzai/genzai/adapters/idn"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/email"
	"github.com/genzai/genzai/ports"
)

var _ ports.Mailer = (*Mailer)(nil)

// Config says where and as whom to send.
type Config struct {
	// URL is smtp://[user:pass@]host[:port] (port 587 by default) or
	// smtps://[user:pass@]host[:port] (port 465 by default).
	URL string
	// From is the sender address of every mail.
	From string
	// TLS, when set, replaces the default TLS settings (tests trust their
	// own certificate with it).
	TLS *tls.Config
	// RequireSTARTTLS refuses an smtp:// server that does not offer
	// STARTTLS even on a loopback address (tests; elsewhere New decides).
	RequireSTARTTLS bool
}

// Mailer sends plain-text mail through one SMTP server.
type Mailer struct {
	addr     string
	host     string
	implicit bool
	// requireTLS refuses to send over a connection that stayed plain:
	// verification and reset links are credentials.
	requireTLS bool
	auth       smtp.Auth
	from       string
	tls        *tls.Config
}

// New checks cfg and returns a Mailer; it does not connect.
func New(cfg Config) (*Mailer, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		// url.Parse's error quotes the URL, password included.
		return nil, errors.New("parse SMTP URL: not a valid URL")
	}
	m := &Mailer{from: cfg.From}
	port := "587"
	switch u.Scheme {
	case "smtp":
	case "smtps":
		m.implicit, port = true, "465"
	default:
		return nil, errors.New("parse SMTP URL: the scheme must be smtp:// or smtps://")
	}
	m.host = u.Hostname()
	if m.host == "" {
		return nil, errors.New("parse SMTP URL: a host is required")
	}
	if u.Port() != "" {
		port = u.Port()
	}
	m.addr = net.JoinHostPort(m.host, port)
	// Reset and verification links give an account away: over the network
	// they travel only encrypted, unless the operator says otherwise
	// (?starttls=optional) or the relay is on this machine.
	m.requireTLS = cfg.RequireSTARTTLS || (!m.implicit && !isLoopback(m.host) && u.Query().Get("starttls") != "optional")
	if u.User != nil {
		pass, _ := u.User.Password()
		// PlainAuth refuses to send the password without TLS, except to
		// localhost.
		m.auth = smtp.PlainAuth("", u.User.Username(), pass, m.host)
	}
	if _, err := email.New(idn.Lookup{}).Normalize(cfg.From); err != nil {
		return nil, fmt.Errorf("check sender address: %w", err)
	}
	m.tls = &tls.Config{ServerName: m.host, MinVersion: tls.VersionTLS12}
	if cfg.TLS != nil {
		m.tls = cfg.TLS.Clone()
		if m.tls.ServerName == "" {
			m.tls.ServerName = m.host
		}
	}
	return m, nil
}

// sendTimeout bounds a whole SMTP conversation when ctx has no deadline.
const sendTimeout = 30 * time.Second

// Send implements ports.Mailer.
func (m *Mailer) Send(ctx context.Context, msg domain.Mail) error {
	if err := m.send(ctx, msg); err != nil {
		return &domain.Error{Code: domain.CodeUnavailable, Message: "The mail server cannot take the message", Err: err}
	}
	return nil
}

func (m *Mailer) send(ctx context.Context, msg domain.Mail) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(sendTimeout)
	}
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	// The deadline covers the whole conversation, and ctx ending cuts it.
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if m.implicit {
		conn = tls.Client(conn, m.tls)
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("greet: %w", err)
	}
	defer c.Close()
	if !m.implicit {
		ok, _ := c.Extension("STARTTLS")
		switch {
		case ok:
			if err := c.StartTLS(m.tls); err != nil {
				return fmt.Errorf("starttls: %w", err)
			}
		case m.requireTLS:
			return fmt.Errorf("starttls: %s does not offer it, and mailed links must not travel in clear (use smtps://, or add ?starttls=optional to SMTP_URL to allow it)", m.addr)
		}
	}
	if m.auth != nil {
		if err := c.Auth(m.auth); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(m.from); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	if err := c.Rcpt(msg.To); err != nil {
		return fmt.Errorf("rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(m.render(msg)); err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end message: %w", err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("quit: %w", err)
	}
	return nil
}

// render builds the RFC 5322 message: fixed headers (the recipient is a
// normalised address and the subject is the gateway's own, so neither can
// carry a line break) and the body with CRLF line ends.
func (m *Mailer) render(msg domain.Mail) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", m.from)
	fmt.Fprintf(&b, "To: %s\r\n", msg.To)
	fmt.Fprintf(&b, "Subject: %s\r\n", strings.NewReplacer("\r", " ", "\n", " ").Replace(msg.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", rand.Text(), m.host)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(msg.Body, "\r\n", "\n"), "\n", "\r\n"))
	return []byte(b.String())
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
