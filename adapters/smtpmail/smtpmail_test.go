package smtpmail_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/smtpmail"
	"github.com/genzai/genzai/adapters/smtpmail/smtptest"
	"github.com/genzai/genzai/domain"
)

func TestSend(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m, err := smtpmail.New(smtpmail.Config{URL: srv.URL("mailer:s3cret"), From: "noreply@example.com"})
	require.NoError(t, err)
	body := "Hello,\n.\n..a line with dots\nlink: https://chat.example.com/verify-email?token=abc.def\n"
	require.NoError(t, m.Send(context.Background(), domain.Mail{To: "ada@xn--exmple-cua.com", Subject: "Confirm\r\nBcc: evil@example.com", Body: body}))

	msgs := srv.WaitFor(t, 1)
	require.Len(t, msgs, 1)
	got := msgs[0]
	assert.Equal(t, "noreply@example.com", got.From)
	assert.Equal(t, []string{"ada@xn--exmple-cua.com"}, got.To)
	assert.Equal(t, "mailer:s3cret", got.Auth)
	assert.Equal(t, "ada@xn--exmple-cua.com", got.Header.Get("To"))
	assert.Equal(t, "Confirm  Bcc: evil@example.com", got.Header.Get("Subject"), "a line break cannot add a header")
	assert.Empty(t, got.Header.Get("Bcc"))
	assert.Equal(t, "text/plain; charset=utf-8", got.Header.Get("Content-Type"))
	assert.Equal(t, body, got.Body, "dots and line ends survive")
	assert.Equal(t, "abc.def", got.Token(t, "/verify-email"))
}

// TestSendRefusesPlaintext: a server that offers no STARTTLS gets no
// links (they are credentials), unless the operator allows it.
func TestSendRefusesPlaintext(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m, err := smtpmail.New(smtpmail.Config{URL: srv.URL(""), From: "noreply@example.com", RequireSTARTTLS: true})
	require.NoError(t, err)
	err = m.Send(context.Background(), domain.Mail{To: "ada@example.com", Subject: "Reset", Body: "a link"})
	require.Error(t, err)
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err))
	assert.ErrorContains(t, err, "does not offer it")
	assert.Empty(t, srv.Messages(), "nothing was sent")
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, url, from string }{
		{"scheme", "http://mail.example.com", "noreply@example.com"},
		{"no host", "smtp://", "noreply@example.com"},
		{"bad url", "smtp://%zz", "noreply@example.com"},
		{"bad sender", "smtp://mail.example.com", "noreply"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := smtpmail.New(smtpmail.Config{URL: tt.url, From: tt.from})
			assert.Error(t, err)
		})
	}
}

func TestSendFailsAsUnavailable(t *testing.T) {
	t.Parallel()
	// A port nobody listens on, and a server that never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close())
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	for name, addr := range map[string]string{"refused": closed, "silent": silent.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m, err := smtpmail.New(smtpmail.Config{URL: "smtp://" + addr, From: "noreply@example.com"})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			err = m.Send(ctx, domain.Mail{To: "ada@example.com", Subject: "s", Body: "b"})
			assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), "err: %v", err)
			assert.Less(t, time.Since(start), 5*time.Second, "the context bounds the conversation")
		})
	}
}
