// Package argon2id hashes passwords with Argon2id (RFC 9106) and encodes them
// as PHC strings: $argon2id$v=19$m=65536,t=2,p=2$<salt>$<hash>.
package argon2id

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.PasswordHasher = (*Hasher)(nil)

// Params are the Argon2id cost parameters.
type Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
	SaltLen     uint32
	KeyLen      uint32
}

// DefaultParams cost about 64 MiB and a few tens of milliseconds per hash,
// within RFC 9106's second recommended option.
var DefaultParams = Params{MemoryKiB: 64 * 1024, Iterations: 2, Parallelism: 2, SaltLen: 16, KeyLen: 32}

// Limits on parameters read back from stored hashes, so that a corrupted or
// hostile hash cannot make verification allocate without bound.
const (
	maxMemoryKiB  = 1 << 20 // 1 GiB
	maxIterations = 64
	maxKeyLen     = 128
)

// Hasher hashes and verifies passwords. At most `concurrency` hashes run at
// once: each holds MemoryKiB of memory, and a login burst must not exhaust
// RAM (see Bound for choosing it). A hash that finds every slot taken waits
// at most Options.Wait, so that a flood of logins gets a quick 503 instead
// of queueing everyone behind it.
type Hasher struct {
	params Params
	slots  chan struct{}
	wait   time.Duration
	kdf    KDF
}

// KDF derives a key the way argon2.IDKey does.
type KDF func(password, salt []byte, iterations, memoryKiB uint32, parallelism uint8, keyLen uint32) []byte

// Options tune a Hasher beyond its cost parameters.
type Options struct {
	// Concurrency bounds the hashes running at once; below 1 means 1.
	Concurrency int
	// Wait bounds how long a hash waits for a free slot before failing
	// with ErrBusy; 0 waits as long as the context allows.
	Wait time.Duration
	// KDF replaces argon2.IDKey; nil is argon2.IDKey. Tests count the
	// derivations running at once through it.
	KDF KDF
}

// BusyRetryAfter is what a hash refused for want of a slot tells the client
// to wait: the queue drains at several hashes a second per core.
const BusyRetryAfter = time.Second

// New returns a Hasher with the given parameters and concurrency bound,
// waiting for a slot as long as the context allows.
func New(p Params, concurrency int) *Hasher {
	return NewWithOptions(p, Options{Concurrency: concurrency})
}

// NewWithOptions returns a Hasher with the given parameters and options.
func NewWithOptions(p Params, o Options) *Hasher {
	kdf := o.KDF
	if kdf == nil {
		kdf = argon2.IDKey
	}
	return &Hasher{params: p, slots: make(chan struct{}, max(o.Concurrency, 1)), wait: max(o.Wait, 0), kdf: kdf}
}

// Concurrency is the most hashes the Hasher runs at once.
func (h *Hasher) Concurrency() int { return cap(h.slots) }

// ErrBusy is the cause (errors.Is) of a hash refused because every slot
// stayed taken for the whole wait.
var ErrBusy = errors.New("every password hashing slot is taken")

// busy is the error of a hash that found no free slot in time: 503 with a
// Retry-After, the same for register, login and every password check.
func busy() error {
	return &domain.Error{Code: domain.CodeUnavailable, Message: "Too many sign-ins at once; try again shortly",
		Err: ErrBusy, RetryAfter: BusyRetryAfter}
}

// Hash implements ports.PasswordHasher.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key, err := h.derive(ctx, password, salt, h.params)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.params.MemoryKiB, h.params.Iterations, h.params.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify implements ports.PasswordHasher. The parameters come from the
// encoded hash, so hashes made with older parameters keep working.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, err
	}
	got, err := h.derive(ctx, password, salt, p)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func (h *Hasher) derive(ctx context.Context, password string, salt []byte, p Params) ([]byte, error) {
	// select picks at random among ready cases: check first so that an ended
	// request never pays for a hash.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("wait for hashing slot: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-h.slots }()
	return h.kdf([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLen), nil
}

// acquire takes a slot, waiting at most h.wait (when set) and never past ctx.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	var expired <-chan time.Time
	if h.wait > 0 {
		t := time.NewTimer(h.wait)
		defer t.Stop()
		expired = t.C
	}
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for hashing slot: %w", ctx.Err())
	case <-expired:
		return busy()
	}
}

var errMalformed = errors.New("malformed argon2id hash")

func decode(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, errMalformed
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version || parts[2] != fmt.Sprintf("v=%d", version) {
		return Params{}, nil, nil, fmt.Errorf("%w: unsupported version", errMalformed)
	}
	var p Params
	_, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Iterations, &p.Parallelism)
	// Sscanf stops early; the field must be exactly what we would write.
	if err != nil || parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", p.MemoryKiB, p.Iterations, p.Parallelism) {
		return Params{}, nil, nil, fmt.Errorf("%w: parameters", errMalformed)
	}
	if p.MemoryKiB == 0 || p.MemoryKiB > maxMemoryKiB || p.Iterations == 0 || p.Iterations > maxIterations || p.Parallelism == 0 {
		return Params{}, nil, nil, fmt.Errorf("%w: parameters out of range", errMalformed)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) == 0 {
		return Params{}, nil, nil, fmt.Errorf("%w: salt", errMalformed)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) == 0 || len(key) > maxKeyLen {
		return Params{}, nil, nil, fmt.Errorf("%w: hash", errMalformed)
	}
	p.KeyLen = uint32(len(key))
	p.SaltLen = uint32(len(salt))
	return p, salt, key, nil
}
