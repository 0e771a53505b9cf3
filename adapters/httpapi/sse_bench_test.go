package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/chat"
)

// discardWriter is an http.ResponseWriter that throws the bytes away, so
// that a benchmark measures the sink and not a socket. Like net/http's own
// writer it can flush and take a write deadline (without one,
// http.ResponseController would build an error on every write).
type discardWriter struct {
	header http.Header
	n      int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }
func (w *discardWriter) Flush()                      {}

func (w *discardWriter) SetWriteDeadline(time.Time) error { return nil }

// benchTokens are 50 tokens of an answer, short words with their leading
// space as Llama tokenizers emit them, some needing JSON escapes.
var benchTokens = func() []string {
	words := strings.Fields(`The gateway streams tokens as they arrive , so a client sees the first
		word within milliseconds . Each event carries one token ; the last one says why the
		model stopped and how many tokens it used . "Quoted" text and café résumé naïve 東京
		are escaped or kept as UTF-8 by the encoder . That is all there is to it`)
	out := make([]string, 50)
	for i := range out {
		out[i] = " " + words[i%len(words)]
	}
	return out
}()

var benchMeta = chat.Meta{Tier: "fast", Provider: "groq", UpstreamModel: "llama-3.1-8b-instant"}

// BenchmarkSSESink writes chat answers as the streaming handler does.
// "answer" is one whole stream per iteration (new sink, Begin with the meta
// event and the keep-alive timer of the default SSE_KEEPALIVE_SECONDS,
// 50 token events, the done event), reported per token too; "token" is one
// token event on an open stream.
func BenchmarkSSESink(b *testing.B) {
	const keepAlive = 15 * time.Second
	res := chat.Result{Meta: benchMeta, FinishReason: "stop", Usage: domain.Usage{PromptTokens: 42, CompletionTokens: 50}}

	b.Run("answer", func(b *testing.B) {
		w := &discardWriter{header: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			s := newSSESink(w, "5c4f2d1e-8b3a-4f6e-9d2c-1a0b9e8f7d6c", keepAlive)
			if err := s.Begin(benchMeta); err != nil {
				b.Fatal(err)
			}
			for _, t := range benchTokens {
				if err := s.Token(t); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.done(res); err != nil {
				b.Fatal(err)
			}
			s.close()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(benchTokens)), "ns/token")
		b.ReportMetric(float64(w.n)/float64(b.N), "bytes/answer")
	})
	b.Run("token", func(b *testing.B) {
		w := &discardWriter{header: http.Header{}}
		s := newSSESink(w, "5c4f2d1e-8b3a-4f6e-9d2c-1a0b9e8f7d6c", keepAlive)
		if err := s.Begin(benchMeta); err != nil {
			b.Fatal(err)
		}
		defer s.close()
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Token(benchTokens[i%len(benchTokens)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkOpenAISink is BenchmarkSSESink's "answer" for the OpenAI-
// compatible stream: a chat.completion.chunk per token carries the id,
// created time and model, so it costs more bytes and time per token than a
// native event; this says how much.
func BenchmarkOpenAISink(b *testing.B) {
	const keepAlive = 15 * time.Second
	res := chat.Result{Meta: benchMeta, FinishReason: "stop", Usage: domain.Usage{PromptTokens: 42, CompletionTokens: 50}}
	w := &discardWriter{header: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		s := &openAISink{sseSink: newSSESink(w, "5c4f2d1e-8b3a-4f6e-9d2c-1a0b9e8f7d6c", keepAlive),
			id: "chatcmpl-5c4f2d1e-8b3a-4f6e-9d2c-1a0b9e8f7d6c", created: 1764115200, model: "fast", includeUsage: true}
		if err := s.Begin(benchMeta); err != nil {
			b.Fatal(err)
		}
		for _, t := range benchTokens {
			if err := s.Token(t); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.done(res); err != nil {
			b.Fatal(err)
		}
		s.close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(benchTokens)), "ns/token")
	b.ReportMetric(float64(w.n)/float64(b.N), "bytes/answer")
}

// BenchmarkSSESinkSocket is BenchmarkSSESink's "answer" through a real
// net/http server and a loopback connection read by a client, so that what
// net/http does per write (flush, write deadline, chunk framing, the
// write syscall) is counted: one whole 50-token stream per iteration.
func BenchmarkSSESinkSocket(b *testing.B) {
	const keepAlive = 15 * time.Second
	res := chat.Result{Meta: benchMeta, FinishReason: "stop", Usage: domain.Usage{PromptTokens: 42, CompletionTokens: 50}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := newSSESink(w, "5c4f2d1e-8b3a-4f6e-9d2c-1a0b9e8f7d6c", keepAlive)
		defer s.close()
		if err := s.Begin(benchMeta); err != nil {
			return
		}
		for _, t := range benchTokens {
			if err := s.Token(t); err != nil {
				return
			}
		}
		_ = s.done(res)
	}))
	defer srv.Close()
	client := srv.Client()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Get(srv.URL)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(benchTokens)), "ns/token")
}
