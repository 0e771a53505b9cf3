//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openTerminal opens a pseudo-terminal and returns its terminal end.
func openTerminal(t *testing.T) *os.File {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	var unlock int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); errno != 0 {
		t.Fatalf("unlock the pseudo-terminal: %v", errno)
	}
	var n uint32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); errno != 0 {
		t.Fatalf("name the pseudo-terminal: %v", errno)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { tty.Close() })
	return tty
}

// TestCLISpeakRefusesTerminal: audio is not written to a terminal unless
// -o - says so.
func TestCLISpeakRefusesTerminal(t *testing.T) {
	t.Parallel()
	g := newVoiceGateway(t)
	tm := voiceUser(t, g)
	tty := openTerminal(t)
	var errOut bytes.Buffer
	err := run(context.Background(), []string{"speak", "Hello"}, func(k string) (string, bool) { v, ok := tm.env[k]; return v, ok },
		strings.NewReader(""), tty, &errOut)
	assert.Equal(t, 2, exitCode(err))
	assert.True(t, strings.HasPrefix(errOut.String(), "error: will not write audio to a terminal: name a file with --output "+
		"(genzai speak TEXT -o out.wav), or -o - to write to standard output anyway\n"), errOut.String())
	assert.Empty(t, g.received(), "nothing was sent")

	errOut.Reset()
	err = run(context.Background(), []string{"speak", "Hello", "-o", "-"}, func(k string) (string, bool) { v, ok := tm.env[k]; return v, ok },
		strings.NewReader(""), tty, &errOut)
	assert.Equal(t, 0, exitCode(err), errOut.String())
	assert.Len(t, g.received(), 1, "-o - writes to the terminal anyway")
}
