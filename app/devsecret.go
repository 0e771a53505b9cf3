package app

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// DevSecretFile is the file, in the directory of the SQLite database, that
// holds the JWT secret development generates when JWT_SECRET is unset.
const DevSecretFile = "jwt-secret"

// devSecretLen is the length of a development secret on disk: 32 random
// bytes in hex, nothing else (no newline).
const devSecretLen = 64

// KeepDevSecret makes the secret LoadConfig generated for development last
// across restarts, so that a restart does not sign everyone out (the CLI's
// saved token included): it reads the secret from DevSecretFile beside the
// SQLite database, or creates that file (mode 0600) with the generated
// secret when there is none. It changes nothing in production, when
// JWT_SECRET is set, or on PostgreSQL (no local data directory: the secret
// stays per process). Only serve calls it: no other command signs tokens.
//
// A file that other users may read or write, or that does not hold exactly
// 64 hex characters, is an error rather than a secret to trust or replace.
func KeepDevSecret(cfg Config) (Config, error) {
	path := DevSecretPath(cfg)
	if path == "" {
		return cfg, nil
	}
	// The directory is the database's, which would create it a moment
	// later with the same mode. When it cannot be made, the database's
	// error (naming the database) says why; the secret is not needed.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return cfg, nil
	}
	secret, err := readDevSecret(path)
	if errors.Is(err, fs.ErrNotExist) {
		secret, err = createDevSecret(path, cfg.JWTSecret.Reveal())
	}
	if err != nil {
		return cfg, fmt.Errorf("development JWT secret: %w", err)
	}
	cfg.JWTSecret, cfg.JWTSecretGenerated, cfg.JWTSecretFile = Secret(secret), false, path
	return cfg, nil
}

// DevSecretPath is where KeepDevSecret keeps the development secret for
// cfg, or "" when it keeps none (see KeepDevSecret).
func DevSecretPath(cfg Config) string {
	if cfg.Production() || !cfg.JWTSecretGenerated || cfg.DatabaseEngine != EngineSQLite {
		return ""
	}
	return filepath.Join(filepath.Dir(cfg.DatabasePath), DevSecretFile)
}

// readDevSecret returns the secret stored at path, checked.
func readDevSecret(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	// The opened file's own mode: no window between checking and reading.
	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	fix := "; delete it to have a new one made (tokens signed with it stop working) or set JWT_SECRET"
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file%s", path, fix)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%s has mode %04o, wider than 0600: others may have read the secret (chmod 600 it if nobody did)%s", path, perm, fix)
	}
	b, err := io.ReadAll(io.LimitReader(f, devSecretLen+1)) // one more, to see a longer file
	if err != nil {
		return "", err
	}
	if _, err := hex.DecodeString(string(b)); len(b) != devSecretLen || err != nil {
		return "", fmt.Errorf("%s does not hold %d hex characters%s", path, devSecretLen, fix)
	}
	return string(b), nil
}

// createDevSecret stores secret at path unless a file is already there, in
// which case the stored secret wins: of two servers starting at once, both
// end up with the one that was stored first. The file appears whole: it is
// written under a temporary name (created with O_EXCL, mode 0600) and then
// hard-linked to path, which fails if path exists.
func createDevSecret(path, secret string) (string, error) {
	if len(secret) != devSecretLen {
		return "", fmt.Errorf("generated secret has %d characters, want %d", len(secret), devSecretLen)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+DevSecretFile+"-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(secret)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	switch err := os.Link(tmp.Name(), path); {
	case errors.Is(err, fs.ErrExist):
		return readDevSecret(path)
	case err != nil:
		return "", err
	}
	return secret, nil
}
