package apikeys_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/apikeys"
)

// store is the memory store with a record of what the use case gave it:
// the keys it made (on success), its lookups and last-use writes, and the
// audit entries.
type store struct {
	*memory.Store
	mu      sync.Mutex
	created []domain.NewAPIKey
	touches int
	lookups int
	audit   []domain.AuditEntry
}

func newStore(users ...domain.User) *store {
	s := &store{Store: memory.NewStore()}
	for _, u := range users {
		s.PutUser(u)
	}
	return s
}

func (s *store) CreateAPIKey(ctx context.Context, k domain.NewAPIKey, max int) (domain.APIKey, error) {
	rec, err := s.Store.CreateAPIKey(ctx, k, max)
	if err == nil {
		s.mu.Lock()
		s.created = append(s.created, k)
		s.mu.Unlock()
	}
	return rec, err
}

func (s *store) APIKeyOwner(ctx context.Context, hash []byte) (domain.APIKey, domain.User, error) {
	s.mu.Lock()
	s.lookups++
	s.mu.Unlock()
	return s.Store.APIKeyOwner(ctx, hash)
}

func (s *store) TouchAPIKey(ctx context.Context, id domain.APIKeyID, at time.Time) error {
	s.mu.Lock()
	s.touches++
	s.mu.Unlock()
	return s.Store.TouchAPIKey(ctx, id, at)
}

func (s *store) RecordAudit(ctx context.Context, e domain.AuditEntry) (domain.AuditEntry, error) {
	e, err := s.Store.RecordAudit(ctx, e)
	if err == nil {
		s.mu.Lock()
		s.audit = append(s.audit, e)
		s.mu.Unlock()
	}
	return e, err
}

var (
	t0  = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	ada = domain.User{ID: "u-ada", Email: "ada@example.com"}
	bob = domain.User{ID: "u-bob", Email: "bob@example.com", Disabled: true}
)

func newService(st *store, c *memory.Clock) *apikeys.Service {
	return apikeys.New(st, c, nil, apikeys.Config{MaxPerUser: 2, TouchEvery: time.Minute})
}

func TestCreateStoresOnlyTheHash(t *testing.T) {
	st, c := newStore(ada), memory.NewClock(t0)
	s := newService(st, c)
	k, key, err := s.Create(context.Background(), ada, "", apikeys.CreateRequest{Name: "  laptop  "})
	require.NoError(t, err)
	assert.Regexp(t, `^gz-[A-Za-z0-9_-]{43}$`, key, "gz- and 32 random bytes, URL-safe")
	assert.Equal(t, domain.APIKey{ID: k.ID, UserID: ada.ID, Name: "laptop", Prefix: key[:11], CreatedAt: t0, Scopes: []domain.Scope{domain.ScopeChat}}, k)
	assert.Empty(t, st.audit, "a chat key is not an admin change")

	require.Len(t, st.created, 1)
	sum := sha256.Sum256([]byte(key))
	assert.Equal(t, sum[:], st.created[0].Hash)
	assert.False(t, bytes.Contains(st.created[0].Hash, []byte(key[3:])), "the store never sees the key")
	assert.NotContains(t, st.created[0].Prefix+st.created[0].Name, key[11:])

	_, key2, err := s.Create(context.Background(), ada, "", apikeys.CreateRequest{Name: "ci"})
	require.NoError(t, err)
	assert.NotEqual(t, key, key2, "keys are random")
	_, _, err = s.Create(context.Background(), ada, "", apikeys.CreateRequest{Name: "third"})
	assert.Equal(t, domain.CodeConflict, domain.ErrorCode(err), "at most MaxPerUser")
}

func TestCreateValidatesTheName(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"empty", ""}, {"blank", "   "}, {"too long", strings.Repeat("é", domain.MaxAPIKeyNameLen+1)},
		{"control character", "lap\x00top"}, {"newline", "lap\ntop"}, {"invalid UTF-8", "lap\xfftop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(ada)
			_, _, err := newService(st, memory.NewClock(t0)).Create(context.Background(), ada, "", apikeys.CreateRequest{Name: tc.in})
			assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
			assert.Empty(t, st.created)
		})
	}
	_, _, err := newService(newStore(ada), memory.NewClock(t0)).Create(context.Background(), ada, "", apikeys.CreateRequest{Name: strings.Repeat("é", domain.MaxAPIKeyNameLen)})
	assert.NoError(t, err, "exactly the limit")
}

func TestCreateFailsWhenRandomnessFails(t *testing.T) {
	st := newStore(ada)
	s := apikeys.New(st, memory.NewClock(t0), iotest.ErrReader(errors.New("no entropy")), apikeys.Config{MaxPerUser: 2})
	_, _, err := s.Create(context.Background(), ada, "", apikeys.CreateRequest{Name: "k"})
	assert.ErrorContains(t, err, "no entropy")
	assert.Empty(t, st.created)
}

func TestAuthenticate(t *testing.T) {
	st, c := newStore(ada, bob), memory.NewClock(t0)
	s := newService(st, c)
	ctx := context.Background()
	_, adaKey, err := s.Create(ctx, ada, "", apikeys.CreateRequest{Name: "k"})
	require.NoError(t, err)
	_, bobKey, err := s.Create(ctx, bob, "", apikeys.CreateRequest{Name: "k"})
	require.NoError(t, err)

	u, k, err := s.Authenticate(ctx, adaKey)
	require.NoError(t, err)
	assert.Equal(t, ada, u)
	assert.Equal(t, "k", k.Name)

	for _, tc := range []struct {
		name      string
		key       string
		code      domain.Code
		noLookups bool
	}{
		{name: "disabled owner", key: bobKey, code: domain.CodeForbidden},
		{name: "one character changed", key: adaKey[:20] + string(adaKey[20]^1) + adaKey[21:], code: domain.CodeUnauthorized},
		{name: "too short", key: adaKey[:45], code: domain.CodeUnauthorized, noLookups: true},
		{name: "too long", key: adaKey + "A", code: domain.CodeUnauthorized, noLookups: true},
		{name: "not base64", key: "gz-" + strings.Repeat("!", 43), code: domain.CodeUnauthorized, noLookups: true},
		{name: "no marker", key: "xx-" + adaKey[3:], code: domain.CodeUnauthorized, noLookups: true},
		{name: "empty", key: "", code: domain.CodeUnauthorized, noLookups: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := st.lookups
			_, _, err := s.Authenticate(ctx, tc.key)
			assert.Equal(t, tc.code, domain.ErrorCode(err))
			if tc.noLookups {
				assert.Equal(t, before, st.lookups, "a malformed key costs no lookup")
			}
		})
	}

	t.Run("revoked", func(t *testing.T) {
		keys, err := s.List(ctx, ada)
		require.NoError(t, err)
		require.Len(t, keys, 1)
		require.NoError(t, s.Revoke(ctx, ada, keys[0].ID))
		_, _, err = s.Authenticate(ctx, adaKey)
		assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err))
		assert.Equal(t, domain.CodeNotFound, domain.ErrorCode(s.Revoke(ctx, ada, keys[0].ID)))
	})
}

func TestLastUseIsWrittenAtMostOncePerInterval(t *testing.T) {
	st, c := newStore(ada), memory.NewClock(t0)
	s := newService(st, c)
	ctx := context.Background()
	_, key, err := s.Create(ctx, ada, "", apikeys.CreateRequest{Name: "k"})
	require.NoError(t, err)
	for _, step := range []struct {
		advance     time.Duration
		wantTouches int
	}{
		{0, 1},                // first use
		{10 * time.Second, 1}, // within the interval
		{49 * time.Second, 1}, // 59 s after the last write
		{time.Second, 2},      // a minute after it
		{30 * time.Second, 2},
	} {
		c.Advance(step.advance)
		_, k, err := s.Authenticate(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, step.wantTouches, st.touches, "at %v", c.Now().Sub(t0))
		require.NotNil(t, k.LastUsedAt)
	}
}

func TestCreateScopes(t *testing.T) {
	t.Parallel()
	root := domain.User{ID: "u-root", Email: "root@example.com", IsAdmin: true}
	for _, tc := range []struct {
		name   string
		user   domain.User
		scopes []string
		want   []domain.Scope
		code   domain.Code
	}{
		{"default is chat", ada, nil, []domain.Scope{domain.ScopeChat}, ""},
		{"admin asks for admin", root, []string{"admin"}, []domain.Scope{domain.ScopeAdmin}, ""},
		{"both, repeated, in any order", root, []string{"admin", "chat", "admin"}, []domain.Scope{domain.ScopeChat, domain.ScopeAdmin}, ""},
		{"non-admin asks for admin", ada, []string{"chat", "admin"}, nil, domain.CodeForbidden},
		{"unknown scope", root, []string{"root"}, nil, domain.CodeInvalid},
		{"empty name", root, []string{""}, nil, domain.CodeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newStore(tc.user)
			k, _, err := newService(st, memory.NewClock(t0)).Create(context.Background(), tc.user, "req-1", apikeys.CreateRequest{Name: "k", Scopes: tc.scopes})
			if tc.code != "" {
				assert.Equal(t, tc.code, domain.ErrorCode(err), "err: %v", err)
				assert.Empty(t, st.created, "nothing is stored")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, k.Scopes)
			if k.HasScope(domain.ScopeAdmin) {
				require.Len(t, st.audit, 1, "an admin key is audited")
				e := st.audit[0]
				assert.Equal(t, domain.AuditAdminKeyCreated, e.Action)
				assert.Equal(t, tc.user.ID, e.ActorID)
				assert.Equal(t, "req-1", e.RequestID)
				assert.Equal(t, string(k.ID), e.Details["key_id"])
			} else {
				assert.Empty(t, st.audit)
			}
		})
	}
}

func TestCreateExpiry(t *testing.T) {
	t.Parallel()
	days := func(n int) *int { return &n }
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	for _, tc := range []struct {
		name string
		req  apikeys.CreateRequest
		want *time.Time
		ok   bool
	}{
		{"no expiry", apikeys.CreateRequest{}, nil, true},
		{"in 30 days", apikeys.CreateRequest{ExpiresInDays: days(30)}, at(30 * 24 * time.Hour), true},
		{"1 day", apikeys.CreateRequest{ExpiresInDays: days(1)}, at(24 * time.Hour), true},
		{"3650 days", apikeys.CreateRequest{ExpiresInDays: days(3650)}, at(3650 * 24 * time.Hour), true},
		{"0 days", apikeys.CreateRequest{ExpiresInDays: days(0)}, nil, false},
		{"3651 days", apikeys.CreateRequest{ExpiresInDays: days(3651)}, nil, false},
		{"negative days", apikeys.CreateRequest{ExpiresInDays: days(-1)}, nil, false},
		{"at a time", apikeys.CreateRequest{ExpiresAt: at(time.Hour)}, at(time.Hour), true},
		{"at now", apikeys.CreateRequest{ExpiresAt: at(0)}, nil, false},
		{"in the past", apikeys.CreateRequest{ExpiresAt: at(-time.Hour)}, nil, false},
		{"too far", apikeys.CreateRequest{ExpiresAt: at(3651 * 24 * time.Hour)}, nil, false},
		{"both", apikeys.CreateRequest{ExpiresInDays: days(1), ExpiresAt: at(time.Hour)}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.req.Name = "k"
			k, _, err := newService(newStore(ada), memory.NewClock(t0)).Create(context.Background(), ada, "", tc.req)
			if !tc.ok {
				assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "err: %v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, k.ExpiresAt)
		})
	}
}

func TestAuthenticateRefusesExpiredKeys(t *testing.T) {
	t.Parallel()
	st, c := newStore(ada), memory.NewClock(t0)
	s := newService(st, c)
	days := 1
	_, key, err := s.Create(context.Background(), ada, "", apikeys.CreateRequest{Name: "k", ExpiresInDays: &days})
	require.NoError(t, err)
	c.Set(t0.Add(24*time.Hour - time.Second))
	_, _, err = s.Authenticate(context.Background(), key)
	require.NoError(t, err, "valid until the last second")
	c.Set(t0.Add(24 * time.Hour))
	_, _, err = s.Authenticate(context.Background(), key)
	assert.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err))
	assert.ErrorContains(t, err, "expired")
}

func TestRequireScope(t *testing.T) {
	t.Parallel()
	chat := domain.APIKey{Scopes: []domain.Scope{domain.ScopeChat}}
	assert.NoError(t, apikeys.RequireScope(chat, domain.ScopeChat))
	err := apikeys.RequireScope(chat, domain.ScopeAdmin)
	assert.Equal(t, domain.CodeForbidden, domain.ErrorCode(err))
	assert.ErrorContains(t, err, `lacks the "admin" scope`)
}
