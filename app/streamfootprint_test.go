package app_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/genzai/genzai/adapters/openaicompat/fakeupstream"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
)

// footprintStreams is how many streams BenchmarkParkedStreams holds open.
const footprintStreams = 400

// BenchmarkParkedStreams measures what an open stream holds in the gateway
// while it waits for its next token (issue 22: 50 000 of them within
// 3 GiB): footprintStreams streams are opened over HTTP/2 without TLS (as
// the streams scenario's load reaches the gateway), each reads its first
// token, and then the process's goroutine stacks, heap and goroutines are
// read after two collections (stacks shrink during a collection) and
// compared with before. The upstream, in process, holds every answer open
// after its first token; its own goroutine per connection is part of the
// figures. Run with -benchtime 1x; stack-B/stream is the figure to compare.
func BenchmarkParkedStreams(b *testing.B) {
	dbURL := "sqlite:///" + filepath.Join(b.TempDir(), "genzai.db")
	if os.Getenv("TEST_DATABASE_URL") != "" || pgtest.Required() {
		dbURL = pgtest.NewURL(b)
	}
	up := upstreams{groq: fakeupstream.New(b), openrouter: fakeupstream.New(b), huggingface: fakeupstream.New(b)}
	a := newBenchAppOn(b, dbURL, map[string]string{"REQUEST_TIMEOUT_SECONDS": "300", "PROVIDER_FIRST_TOKEN_TIMEOUT_SECONDS": "60"}, up)
	srv := httptest.NewUnstartedServer(a.Handler)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Config.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 250}
	srv.Start()
	b.Cleanup(srv.Close)
	token := benchLogin(b, srv.URL)

	client := &http.Client{Transport: &http.Transport{Protocols: new(http.Protocols)}}
	client.Transport.(*http.Transport).Protocols.SetUnencryptedHTTP2(true)
	b.Cleanup(client.CloseIdleConnections)
	events, _ := groqAnswer(3)
	body := fmt.Sprintf(`{"prompt":%q,"model":"fast","stream":true}`, benchPrompt)

	var stacks, heap, goroutines float64
	for range b.N {
		release := make(chan struct{})
		up.groq.Default(parkedUpstream(events[:2], release))
		before := footprint()
		var wg sync.WaitGroup
		opened := make(chan error, footprintStreams)
		for range footprintStreams {
			wg.Go(func() {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/api/v1/chat", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := client.Do(req)
				if err != nil {
					opened <- err
					return
				}
				defer res.Body.Close()
				r := bufio.NewReader(res.Body)
				// The meta event, then the first token.
				for got := 0; got < 2; {
					line, err := r.ReadString('\n')
					if err != nil {
						opened <- fmt.Errorf("status %d: %w", res.StatusCode, err)
						return
					}
					if line == "\n" {
						got++
					}
				}
				opened <- nil
				_, _ = r.ReadString(0) // until the gateway ends the stream
			})
		}
		for range footprintStreams {
			if err := <-opened; err != nil {
				b.Fatal(err)
			}
		}
		at := footprint()
		stacks += float64(at.stacks-before.stacks) / footprintStreams
		heap += float64(at.heap-before.heap) / footprintStreams
		goroutines += float64(at.goroutines-before.goroutines) / footprintStreams
		close(release)
		wg.Wait()
	}
	b.ReportMetric(stacks/float64(b.N), "stack-B/stream")
	b.ReportMetric(heap/float64(b.N), "heap-B/stream")
	b.ReportMetric(goroutines/float64(b.N), "goroutines/stream")
}

type processFootprint struct {
	stacks, heap int64
	goroutines   int
}

// footprint reads the stacks and the live heap after two collections: the
// first shrinks stacks that may shrink, the second frees what the first
// found unreachable.
func footprint() processFootprint {
	time.Sleep(100 * time.Millisecond) // let the last writes settle
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return processFootprint{stacks: int64(m.StackInuse), heap: int64(m.HeapAlloc), goroutines: runtime.NumGoroutine()}
}

// benchLogin registers and logs in the benchmarks' user and returns its
// access token.
func benchLogin(b *testing.B, url string) string {
	b.Helper()
	g := &benchGateway{url: url, http: &http.Client{Timeout: 30 * time.Second}}
	creds := fmt.Sprintf(`{"email":"ada@example.com","password":%q}`, pw)
	if status, body := g.post("/api/v1/auth/register", creds, ""); status != http.StatusCreated {
		b.Fatalf("register: %d %s", status, body)
	}
	status, body := g.post("/api/v1/auth/login", creds, "")
	if status != http.StatusOK {
		b.Fatalf("login: %d %s", status, body)
	}
	_, tok, _ := strings.Cut(string(body), `"access_token":"`)
	tok, _, _ = strings.Cut(tok, `"`)
	return tok
}

// parkedUpstream answers every streamed request with events and then holds
// it open until release is closed or the client leaves.
func parkedUpstream(events [][]byte, release <-chan struct{}) fakeupstream.Behaviour {
	return fakeupstream.Handler(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range events {
			if _, err := w.Write(ev); err != nil {
				return
			}
		}
		if err := http.NewResponseController(w).Flush(); err != nil {
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
}
