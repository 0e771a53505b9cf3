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

	"golang.org/x/crypto/argon2"

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
// once: each holds MemoryKiB of memory, and a login burst must not exhaust RAM.
type Hasher struct {
	params Params
	slots  chan struct{}
}

// New returns a Hasher with the given parameters and concurrency bound.
func New(p Params, concurrency int) *Hasher {
	return &Hasher{params: p, slots: make(chan struct{}, max(concurrency, 1))}
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
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for hashing slot: %w", ctx.Err())
	}
	defer func() { <-h.slots }()
	return argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLen), nil
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
