// Package redistest gives tests a Redis server.
//
// With TEST_REDIS_URL set it hands out that URL. Otherwise it starts a
// Redis container with testcontainers-go, one per test binary. When neither
// works the test is skipped, unless CI or TEST_REQUIRE_DB is set: then it
// fails.
//
// Every test shares the one database and nothing is ever flushed, so that
// parallel tests, parallel test binaries and a developer's own data are
// safe. Tests isolate themselves through their keys instead: each uses keys
// no other test uses (UniqueKey), and rate-limit keys expire by themselves
// once their budget is whole again.
package redistest

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
)

// NewURL returns the URL of a Redis server that answers, for t.
func NewURL(t testing.TB) string {
	t.Helper()
	u := serverURL(t)
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("redistest: TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatalf("redistest: ping %s: %v", opts.Addr, err)
	}
	return u
}

// UniqueKey returns name prefixed with a random string, so that it names a
// key no other test or earlier run uses.
func UniqueKey(name string) string {
	return "test:" + strings.ToLower(rand.Text()[:12]) + ":" + name
}

// Required reports whether a missing Redis must fail the test run.
func Required() bool {
	return os.Getenv("CI") != "" || os.Getenv("TEST_REQUIRE_DB") != ""
}

var container struct {
	once sync.Once
	url  string
	err  error
}

// serverURL returns TEST_REDIS_URL or the URL of a container started for
// this test binary.
func serverURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	// One container serves every test of this test binary; Ryuk removes it
	// when the process exits.
	container.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var c *tcredis.RedisContainer
		func() {
			defer func() {
				if r := recover(); r != nil {
					container.err = fmt.Errorf("docker: %v", r)
				}
			}()
			c, container.err = tcredis.Run(ctx, "redis:7-alpine")
		}()
		if container.err == nil {
			container.url, container.err = c.ConnectionString(ctx)
		}
	})
	if container.err != nil {
		msg := fmt.Sprintf("redistest: no redis: TEST_REDIS_URL is unset and testcontainers failed: %v", container.err)
		if Required() {
			t.Fatal(msg)
		}
		t.Skip(msg + " (set TEST_REDIS_URL to run redis tests)")
	}
	return container.url
}
