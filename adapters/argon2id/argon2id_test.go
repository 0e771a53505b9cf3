package argon2id_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"

	"github.com/genzai/genzai/adapters/argon2id"
	"github.com/genzai/genzai/domain"
)

// cheap keeps tests fast; only the DefaultParams tests pay the real cost.
var cheap = argon2id.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// phc matches the shape of an encoded hash and captures its fields.
var phc = regexp.MustCompile(`^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

// phcParts is an encoded hash taken apart.
type phcParts struct {
	version, memory, iterations, parallelism uint64
	salt, key                                []byte
}

func parsePHC(t *testing.T, encoded string) phcParts {
	t.Helper()
	m := phc.FindStringSubmatch(encoded)
	require.NotNil(t, m, "not a PHC argon2id string: %q", encoded)
	num := func(s string) uint64 {
		n, err := strconv.ParseUint(s, 10, 32)
		require.NoError(t, err)
		return n
	}
	salt, err := base64.RawStdEncoding.DecodeString(m[5])
	require.NoError(t, err)
	key, err := base64.RawStdEncoding.DecodeString(m[6])
	require.NoError(t, err)
	return phcParts{version: num(m[1]), memory: num(m[2]), iterations: num(m[3]), parallelism: num(m[4]), salt: salt, key: key}
}

// encode builds a PHC string from its parts, independently of the Hasher.
func encode(m, t uint32, p uint8, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

func TestHashPHCFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params argon2id.Params
	}{
		{name: "cheap", params: cheap},
		{name: "more memory and passes", params: argon2id.Params{MemoryKiB: 128, Iterations: 2, Parallelism: 2, SaltLen: 16, KeyLen: 32}},
		{name: "longer salt and key", params: argon2id.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 32, KeyLen: 64}},
		{name: "short key", params: argon2id.Params{MemoryKiB: 32, Iterations: 3, Parallelism: 4, SaltLen: 8, KeyLen: 16}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const password = "correct horse battery staple"
			encoded, err := argon2id.New(tc.params, 1).Hash(context.Background(), password)
			require.NoError(t, err)

			got := parsePHC(t, encoded)
			assert.EqualValues(t, argon2.Version, got.version)
			assert.EqualValues(t, 19, got.version)
			assert.EqualValues(t, tc.params.MemoryKiB, got.memory)
			assert.EqualValues(t, tc.params.Iterations, got.iterations)
			assert.EqualValues(t, tc.params.Parallelism, got.parallelism)
			assert.Len(t, got.salt, int(tc.params.SaltLen))
			assert.Len(t, got.key, int(tc.params.KeyLen))
			// The key really is Argon2id of the password with that salt and those parameters.
			want := argon2.IDKey([]byte(password), got.salt, tc.params.Iterations, tc.params.MemoryKiB, tc.params.Parallelism, tc.params.KeyLen)
			assert.Equal(t, want, got.key)
		})
	}
}

func TestHashDefaultParams(t *testing.T) {
	t.Parallel()
	const password = "correct horse battery staple"
	h := argon2id.New(argon2id.DefaultParams, 1)
	encoded, err := h.Hash(context.Background(), password)
	require.NoError(t, err)

	assert.Regexp(t, `^\$argon2id\$v=19\$m=65536,t=2,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`, encoded)
	got := parsePHC(t, encoded)
	assert.Len(t, got.salt, 16)
	assert.Len(t, got.key, 32)

	ok, err := h.Verify(context.Background(), password, encoded)
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestHashIsSalted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		password string
	}{
		{name: "ordinary", password: "hunter22"},
		{name: "empty", password: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			h := argon2id.New(cheap, 2)
			first, err := h.Hash(ctx, tc.password)
			require.NoError(t, err)
			second, err := h.Hash(ctx, tc.password)
			require.NoError(t, err)

			assert.NotEqual(t, first, second)
			assert.NotEqual(t, parsePHC(t, first).salt, parsePHC(t, second).salt)
			for _, encoded := range []string{first, second} {
				ok, err := h.Verify(ctx, tc.password, encoded)
				require.NoError(t, err)
				assert.True(t, ok, "hash %q does not verify", encoded)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("пароль🔑é", 16) // 8 runes × 16 = 128 characters, 288 bytes
	require.Equal(t, 128, len([]rune(long)))
	tests := []struct {
		name      string
		hashed    string // password the hash is made from
		candidate string // password given to Verify
		want      bool
	}{
		{name: "right password", hashed: "hunter22", candidate: "hunter22", want: true},
		{name: "wrong password", hashed: "hunter22", candidate: "hunter23", want: false},
		{name: "different case", hashed: "hunter22", candidate: "HUNTER22", want: false},
		{name: "trailing space", hashed: "hunter22", candidate: "hunter22 ", want: false},
		{name: "prefix", hashed: "hunter22", candidate: "hunter2", want: false},
		{name: "empty round trip", hashed: "", candidate: "", want: true},
		{name: "empty against non-empty", hashed: "hunter22", candidate: "", want: false},
		{name: "non-empty against empty", hashed: "", candidate: "hunter22", want: false},
		{name: "128-character unicode round trip", hashed: long, candidate: long, want: true},
		{name: "128-character unicode, last rune changed", hashed: long, candidate: long[:len(long)-len("é")] + "e", want: false},
		// "é" precomposed vs "e" + combining acute: no normalization happens.
		{name: "unicode normalization differs", hashed: "caf\u00e9", candidate: "cafe\u0301", want: false},
		{name: "NUL byte matters", hashed: "a\x00b", candidate: "a", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			h := argon2id.New(cheap, 1)
			encoded, err := h.Hash(ctx, tc.hashed)
			require.NoError(t, err)

			ok, err := h.Verify(ctx, tc.candidate, encoded)
			require.NoError(t, err)
			assert.Equal(t, tc.want, ok)
		})
	}
}

func TestVerifyReadsParamsFromHash(t *testing.T) {
	t.Parallel()
	fixedSalt := []byte("0123456789abcdef")
	tests := []struct {
		name     string
		encoded  func(t *testing.T, password string) string
		verifier argon2id.Params
	}{
		{
			name: "m=128,t=2,p=2 hash, cheap verifier",
			encoded: func(t *testing.T, password string) string {
				s, err := argon2id.New(argon2id.Params{MemoryKiB: 128, Iterations: 2, Parallelism: 2, SaltLen: 16, KeyLen: 32}, 1).Hash(context.Background(), password)
				require.NoError(t, err)
				require.Contains(t, s, "$m=128,t=2,p=2$")
				return s
			},
			verifier: cheap,
		},
		{
			name: "cheap hash, m=128,t=2,p=2 verifier with other lengths",
			encoded: func(t *testing.T, password string) string {
				s, err := argon2id.New(cheap, 1).Hash(context.Background(), password)
				require.NoError(t, err)
				return s
			},
			verifier: argon2id.Params{MemoryKiB: 128, Iterations: 2, Parallelism: 2, SaltLen: 8, KeyLen: 64},
		},
		{
			name: "hand-made hash with 24-byte key, m=32,t=3,p=4",
			encoded: func(_ *testing.T, password string) string {
				return encode(32, 3, 4, fixedSalt, argon2.IDKey([]byte(password), fixedSalt, 3, 32, 4, 24))
			},
			verifier: cheap,
		},
		{
			name: "hand-made hash with the largest accepted key and pass count",
			encoded: func(_ *testing.T, password string) string {
				return encode(8, 64, 1, fixedSalt, argon2.IDKey([]byte(password), fixedSalt, 64, 8, 1, 128))
			},
			verifier: cheap,
		},
		{
			name: "hand-made hash with a 1-byte salt",
			encoded: func(_ *testing.T, password string) string {
				return encode(16, 1, 1, []byte{7}, argon2.IDKey([]byte(password), []byte{7}, 1, 16, 1, 32))
			},
			verifier: cheap,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const password = "s3cret-passphrase"
			ctx := context.Background()
			encoded := tc.encoded(t, password)
			h := argon2id.New(tc.verifier, 1)

			ok, err := h.Verify(ctx, password, encoded)
			require.NoError(t, err)
			assert.True(t, ok, "right password refused")

			ok, err = h.Verify(ctx, password+"x", encoded)
			require.NoError(t, err)
			assert.False(t, ok, "wrong password accepted")
		})
	}
}

// TestVerifyComparesWholeKey changes the stored key a little: every byte and
// the length must count.
func TestVerifyComparesWholeKey(t *testing.T) {
	t.Parallel()
	const password = "hunter22"
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(password), salt, 1, 64, 1, 32)
	flip := func(i int) []byte {
		k := slices.Clone(key)
		k[i] ^= 0x01
		return k
	}
	tests := []struct {
		name string
		key  []byte
		want bool
	}{
		{name: "unchanged", key: key, want: true},
		{name: "first byte flipped", key: flip(0), want: false},
		{name: "middle byte flipped", key: flip(16), want: false},
		{name: "last byte flipped", key: flip(31), want: false},
		{name: "last byte dropped", key: key[:31], want: false},
		{name: "byte appended", key: append(slices.Clone(key), 0), want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ok, err := argon2id.New(cheap, 1).Verify(context.Background(), password, encode(64, 1, 1, salt, tc.key))
			require.NoError(t, err)
			assert.Equal(t, tc.want, ok)
		})
	}
}

func TestVerifyMalformedHash(t *testing.T) {
	t.Parallel()
	const password = "hunter22"
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(password), salt, 1, 64, 1, 32)
	s64 := base64.RawStdEncoding.EncodeToString(salt)
	k64 := base64.RawStdEncoding.EncodeToString(key)
	// build returns a hash that verifies for password with one part replaced.
	build := func(prefix, version, params, salt, key string) string {
		return strings.Join([]string{"", prefix, version, params, salt, key}, "$")
	}
	valid := build("argon2id", "v=19", "m=64,t=1,p=1", s64, k64)

	tests := []struct {
		name    string
		encoded string
	}{
		{name: "empty", encoded: ""},
		{name: "garbage", encoded: "not a hash"},
		{name: "argon2i prefix", encoded: build("argon2i", "v=19", "m=64,t=1,p=1", s64, k64)},
		{name: "argon2d prefix", encoded: build("argon2d", "v=19", "m=64,t=1,p=1", s64, k64)},
		{name: "upper-case prefix", encoded: build("ARGON2ID", "v=19", "m=64,t=1,p=1", s64, k64)},
		{name: "bcrypt", encoded: "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{name: "no leading dollar", encoded: strings.TrimPrefix(valid, "$")},
		{name: "text before the leading dollar", encoded: "x" + valid},
		{name: "version 18", encoded: build("argon2id", "v=18", "m=64,t=1,p=1", s64, k64)},
		{name: "version 16", encoded: build("argon2id", "v=16", "m=64,t=1,p=1", s64, k64)},
		{name: "version not a number", encoded: build("argon2id", "v=x", "m=64,t=1,p=1", s64, k64)},
		{name: "version empty", encoded: build("argon2id", "", "m=64,t=1,p=1", s64, k64)},
		{name: "version missing", encoded: strings.Join([]string{"", "argon2id", "m=64,t=1,p=1", s64, k64}, "$")},
		{name: "key missing", encoded: strings.Join([]string{"", "argon2id", "v=19", "m=64,t=1,p=1", s64}, "$")},
		{name: "extra part", encoded: valid + "$" + k64},
		{name: "params missing", encoded: build("argon2id", "v=19", "", s64, k64)},
		{name: "m not numeric", encoded: build("argon2id", "v=19", "m=abc,t=1,p=1", s64, k64)},
		{name: "t not numeric", encoded: build("argon2id", "v=19", "m=64,t=x,p=1", s64, k64)},
		{name: "p not numeric", encoded: build("argon2id", "v=19", "m=64,t=1,p=y", s64, k64)},
		{name: "params with semicolons", encoded: build("argon2id", "v=19", "m=64;t=1;p=1", s64, k64)},
		{name: "params in another order", encoded: build("argon2id", "v=19", "t=1,m=64,p=1", s64, k64)},
		{name: "m negative", encoded: build("argon2id", "v=19", "m=-1,t=1,p=1", s64, k64)},
		{name: "m=0", encoded: build("argon2id", "v=19", "m=0,t=1,p=1", s64, k64)},
		{name: "m just over 1 GiB", encoded: build("argon2id", "v=19", "m=1048577,t=1,p=1", s64, k64)},
		{name: "m=4 GiB", encoded: build("argon2id", "v=19", "m=4194304,t=1,p=1", s64, k64)},
		{name: "m overflows uint32", encoded: build("argon2id", "v=19", "m=4294967296,t=1,p=1", s64, k64)},
		{name: "t=0", encoded: build("argon2id", "v=19", "m=64,t=0,p=1", s64, k64)},
		{name: "t=65", encoded: build("argon2id", "v=19", "m=64,t=65,p=1", s64, k64)},
		{name: "t=1000", encoded: build("argon2id", "v=19", "m=64,t=1000,p=1", s64, k64)},
		{name: "p=0", encoded: build("argon2id", "v=19", "m=64,t=1,p=0", s64, k64)},
		{name: "junk after version", encoded: build("argon2id", "v=19junk", "m=64,t=1,p=1", s64, k64)},
		{name: "junk after params", encoded: build("argon2id", "v=19", "m=64,t=1,p=1junk", s64, k64)},
		{name: "p overflows uint8", encoded: build("argon2id", "v=19", "m=64,t=1,p=256", s64, k64)},
		{name: "bad base64 salt", encoded: build("argon2id", "v=19", "m=64,t=1,p=1", "!!!!", k64)},
		{name: "padded base64 salt", encoded: build("argon2id", "v=19", "m=64,t=1,p=1", base64.StdEncoding.EncodeToString([]byte("salt")), k64)},
		{name: "url base64 salt", encoded: build("argon2id", "v=19", "m=64,t=1,p=1", "ab-_cd", k64)},
		{name: "bad base64 hash", encoded: build("argon2id", "v=19", "m=64,t=1,p=1", s64, "%%%%")},
		{name: "empty salt", encoded: build("argon2id", "v=19", "m=64,t=1,p=1", "", k64)},
		{name: "empty hash", encoded: build("argon2id", "v=19", "m=64,t=1,p=1", s64, "")},
		{name: "hash over 128 bytes", encoded: build("argon2id", "v=19", "m=64,t=1,p=1", s64, base64.RawStdEncoding.EncodeToString(make([]byte, 129)))},
	}
	// Control: the unmodified hash verifies, so each case fails for its one change.
	ok, err := argon2id.New(cheap, 1).Verify(context.Background(), password, valid)
	require.NoError(t, err)
	require.True(t, ok)

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := argon2id.New(cheap, 1)
			var (
				ok  bool
				err error
			)
			require.NotPanics(t, func() { ok, err = h.Verify(context.Background(), password, tc.encoded) })
			assert.Error(t, err)
			assert.False(t, ok)
		})
	}
}

// peakKDF is a KDF that records how many derivations run at once. Each
// holds its slot for hold, long enough that callers pile up behind a bound.
type peakKDF struct {
	hold          time.Duration
	running, peak atomic.Int32
	calls         atomic.Int32
}

func (k *peakKDF) derive(password, salt []byte, iterations, memoryKiB uint32, parallelism uint8, keyLen uint32) []byte {
	n := k.running.Add(1)
	defer k.running.Add(-1)
	k.calls.Add(1)
	for {
		p := k.peak.Load()
		if n <= p || k.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(k.hold)
	return argon2.IDKey(password, salt, iterations, memoryKiB, parallelism, keyLen)
}

// TestNewConcurrencyBound counts the hashes running at once: never more
// than the bound, and exactly the bound when callers outnumber it (so a
// Hasher that serialised everything would fail too).
func TestNewConcurrencyBound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		concurrency int
		callers     int
		wantPeak    int32
	}{
		{name: "zero is treated as one", concurrency: 0, callers: 4, wantPeak: 1},
		{name: "negative is treated as one", concurrency: -3, callers: 4, wantPeak: 1},
		{name: "fewer slots than callers", concurrency: 2, callers: 16, wantPeak: 2},
		{name: "three slots", concurrency: 3, callers: 12, wantPeak: 3},
		{name: "more slots than callers", concurrency: 32, callers: 8, wantPeak: 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			kdf := &peakKDF{hold: 20 * time.Millisecond}
			h := argon2id.NewWithOptions(cheap, argon2id.Options{Concurrency: tc.concurrency, KDF: kdf.derive})
			assert.Equal(t, max(tc.concurrency, 1), h.Concurrency())
			start := make(chan struct{})
			var wg sync.WaitGroup
			errs := make([]error, tc.callers)
			oks := make([]bool, tc.callers)
			for i := range tc.callers {
				wg.Go(func() {
					<-start
					password := fmt.Sprintf("password-%d", i)
					encoded, err := h.Hash(ctx, password)
					if err != nil {
						errs[i] = err
						return
					}
					oks[i], errs[i] = h.Verify(ctx, password, encoded)
				})
			}
			close(start)
			wg.Wait()
			for i := range tc.callers {
				assert.NoError(t, errs[i], "caller %d", i)
				assert.True(t, oks[i], "caller %d", i)
			}
			assert.Equal(t, int32(2*tc.callers), kdf.calls.Load(), "every hash and verification derived once")
			assert.Equal(t, tc.wantPeak, kdf.peak.Load(), "hashes running at once")
		})
	}
}

// TestBusyAfterWait fills every slot with slow hashes: another hash is
// refused after the wait, quickly, with a 503-class error and a
// Retry-After, and hashing works again once the slots free up.
func TestBusyAfterWait(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var running atomic.Int32
	blocking := func(password, salt []byte, iterations, memoryKiB uint32, parallelism uint8, keyLen uint32) []byte {
		if string(password) == "slow" {
			running.Add(1)
			<-release
		}
		return argon2.IDKey(password, salt, iterations, memoryKiB, parallelism, keyLen)
	}
	const wait = 100 * time.Millisecond
	h := argon2id.NewWithOptions(cheap, argon2id.Options{Concurrency: 2, Wait: wait, KDF: blocking})
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			_, err := h.Hash(ctx, "slow")
			assert.NoError(t, err)
		})
	}
	require.Eventually(t, func() bool { return running.Load() == 2 }, 5*time.Second, time.Millisecond)

	for _, op := range []string{"hash", "verify"} {
		began := time.Now()
		var err error
		if op == "hash" {
			_, err = h.Hash(ctx, "fast")
		} else {
			_, err = h.Verify(ctx, "fast", encode(64, 1, 1, []byte("saltsaltsaltsalt"), make([]byte, 32)))
		}
		took := time.Since(began)
		require.Error(t, err, op)
		assert.ErrorIs(t, err, argon2id.ErrBusy, op)
		assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err), op)
		assert.Equal(t, argon2id.BusyRetryAfter, domain.RetryAfter(err), op)
		assert.GreaterOrEqual(t, took, wait, op)
		assert.Less(t, took, wait+time.Second, "%s: refused after the wait, not the request timeout", op)
	}

	close(release)
	wg.Wait()
	_, err := h.Hash(ctx, "fast")
	assert.NoError(t, err, "slots free again")
}

func TestMemorySourcesLimit(t *testing.T) {
	t.Parallel()
	const gib = 1 << 30
	noFile := func(string) ([]byte, error) { return nil, os.ErrNotExist }
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(name string) ([]byte, error) {
			if v, ok := m[name]; ok {
				return []byte(v), nil
			}
			return nil, os.ErrNotExist
		}
	}
	unset := func() int64 { return math.MaxInt64 }
	goLimit := func(n int64) func() int64 { return func() int64 { return n } }
	const v2, v1 = "/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"
	tests := []struct {
		name string
		src  argon2id.MemorySources
		want argon2id.MemoryLimit
	}{
		{"nothing known", argon2id.MemorySources{ReadFile: noFile, GoMemLimit: unset}, argon2id.MemoryLimit{}},
		{"cgroup v2", argon2id.MemorySources{ReadFile: files(map[string]string{v2: "1073741824\n"}), GoMemLimit: unset}, argon2id.MemoryLimit{Bytes: gib, Source: "cgroup v2"}},
		{"cgroup v2 unlimited", argon2id.MemorySources{ReadFile: files(map[string]string{v2: "max\n", v1: "536870912"}), GoMemLimit: unset}, argon2id.MemoryLimit{}},
		{"cgroup v1", argon2id.MemorySources{ReadFile: files(map[string]string{v1: "536870912\n"}), GoMemLimit: unset}, argon2id.MemoryLimit{Bytes: gib / 2, Source: "cgroup v1"}},
		{"cgroup v1 unlimited", argon2id.MemorySources{ReadFile: files(map[string]string{v1: "9223372036854771712\n"}), GoMemLimit: unset}, argon2id.MemoryLimit{}},
		{"garbage is ignored", argon2id.MemorySources{ReadFile: files(map[string]string{v2: "lots"}), GoMemLimit: unset}, argon2id.MemoryLimit{}},
		{"GOMEMLIMIT alone", argon2id.MemorySources{ReadFile: noFile, GoMemLimit: goLimit(2 * gib)}, argon2id.MemoryLimit{Bytes: 2 * gib, Source: "GOMEMLIMIT"}},
		{"GOMEMLIMIT below the cgroup", argon2id.MemorySources{ReadFile: files(map[string]string{v2: "1073741824"}), GoMemLimit: goLimit(gib / 4)}, argon2id.MemoryLimit{Bytes: gib / 4, Source: "GOMEMLIMIT"}},
		{"cgroup below GOMEMLIMIT", argon2id.MemorySources{ReadFile: files(map[string]string{v2: "1073741824"}), GoMemLimit: goLimit(4 * gib)}, argon2id.MemoryLimit{Bytes: gib, Source: "cgroup v2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tc.src.Limit())
		})
	}
	// The real sources answer without error on any machine.
	assert.GreaterOrEqual(t, argon2id.MemorySources{}.Limit().Bytes, int64(0))
}

// TestBound reproduces the case: 16 CPUs, a 1 GiB limit and 64 MiB
// hashes allowed 16 at once (1 GiB of hashing alone); now a quarter of the
// limit, 4 hashes.
func TestBound(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	perHash := argon2id.DefaultParams.MemoryKiB
	tests := []struct {
		name     string
		procs    int
		override int64
		limit    int64
		want     int
	}{
		{"the issue's 16-CPU node with 1 GiB", 16, 0, 1024 * mib, 4},
		{"CPUs bind first", 2, 0, 1024 * mib, 2},
		{"no memory limit known: one per CPU", 16, 0, 0, 16},
		{"override wins over the limit", 16, 128 * mib, 1024 * mib, 2},
		{"override larger than the limit's share", 16, 512 * mib, 1024 * mib, 8},
		{"budget below one hash still allows one", 16, 0, 100 * mib, 1},
		{"zero CPUs is one", 0, 0, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			budget := argon2id.Budget(tc.override, argon2id.MemoryLimit{Bytes: tc.limit})
			assert.Equal(t, tc.want, argon2id.Bound(tc.procs, budget, perHash))
		})
	}
}

func BenchmarkHashDefault(b *testing.B) {
	h := argon2id.New(argon2id.DefaultParams, 1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyDefault(b *testing.B) {
	h := argon2id.New(argon2id.DefaultParams, 1)
	ctx := context.Background()
	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ok, err := h.Verify(ctx, "correct horse battery staple", encoded)
		if err != nil || !ok {
			b.Fatalf("verify = %v, %v", ok, err)
		}
	}
}

func TestCancelledContextSkipsHashing(t *testing.T) {
	t.Parallel()
	h := argon2id.New(argon2id.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, 4)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 50 { // select alone would pick the free slot about half the time
		_, err := h.Hash(ctx, "password")
		require.ErrorIs(t, err, context.Canceled)
	}
	encoded, err := h.Hash(context.Background(), "password")
	require.NoError(t, err)
	ok, err := h.Verify(ctx, "password", encoded)
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, ok)
}
