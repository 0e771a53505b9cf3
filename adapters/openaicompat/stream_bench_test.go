package openaicompat

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// benchWords are the answer's tokens: mostly short words with their
// leading space, as Llama tokenizers emit them, with some punctuation, an
// escaped quote and non-ASCII text.
var benchWords = strings.Fields(`The gateway streams tokens as they arrive , so a client sees the
	first word within milliseconds . Each chunk carries one delta ; the last one says
	why the model stopped and how many tokens it used . "Quoted" text and café résumé
	naïve 東京 are escaped or kept as UTF-8 by the upstream encoder`)

// groqStream renders a realistic Groq answer of 50 chat.completion.chunk
// events: the opening role chunk, 47 content chunks, the finish chunk and
// the usage chunk that stream_options.include_usage asks for, then [DONE].
func groqStream() string {
	const head = `{"id":"chatcmpl-5f0c9a2e-4b1d-4c8a-9e3f-7d2b6a1c0e94","object":"chat.completion.chunk","created":1733011200,"model":"llama-3.1-8b-instant","system_fingerprint":"fp_9cb648b966",`
	var sb strings.Builder
	event := func(rest string) { sb.WriteString("data: " + head + rest + "\n\n") }
	event(`"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"x_groq":{"id":"req_01jdy8kq3xf2s9v7w6t5r4e3d2"}}`)
	for i := range 47 {
		w := benchWords[i%len(benchWords)]
		w = strings.ReplaceAll(w, `"`, `\"`)
		event(fmt.Sprintf(`"choices":[{"index":0,"delta":{"content":" %s"},"logprobs":null,"finish_reason":null}]}`, w))
	}
	event(`"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"x_groq":{"id":"req_01jdy8kq3xf2s9v7w6t5r4e3d2","usage":{"queue_time":0.017,"prompt_tokens":42,"prompt_time":0.004,"completion_tokens":47,"completion_time":0.062,"total_tokens":89,"total_time":0.066}}}`)
	event(`"choices":[],"usage":{"queue_time":0.017,"prompt_tokens":42,"prompt_time":0.004,"completion_tokens":47,"completion_time":0.062,"total_tokens":89,"total_time":0.066}}`)
	sb.WriteString("data: [DONE]\n\n")
	return sb.String()
}

// benchEvents is the number of events in groqStream, [DONE] included.
const benchEvents = 51

// BenchmarkSSEReader is the framing alone: lines split, fields cut, one
// string per event's data.
func BenchmarkSSEReader(b *testing.B) {
	body := groqStream()
	r := strings.NewReader(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(body)
		sr := newSSEReader(r, maxEventBytes)
		n := 0
		for {
			_, err := sr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != benchEvents {
			b.Fatalf("read %d events, want %d", n, benchEvents)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchEvents), "ns/event")
}

// BenchmarkStreamRecv is the whole upstream reader of one answer, as the
// chat service drives it: framing, JSON decoding of every chunk, and the
// merge of the finish and usage chunks into the last delta.
func BenchmarkStreamRecv(b *testing.B) {
	body := groqStream()
	r := strings.NewReader(body)
	c := New(Config{Provider: "groq", Keys: []string{"gsk_bench"}})
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(body)
		s := &Stream{ctx: ctx, c: c, status: http.StatusOK, header: http.Header{},
			body: io.NopCloser(r), events: newSSEReader(r, maxEventBytes)}
		deltas := 0
		for {
			d, err := s.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			deltas++
			if d.FinishReason != "" && d.Usage == nil {
				b.Fatal("usage not merged into the last delta")
			}
		}
		if deltas != 48 { // 47 contents and the merged finish+usage
			b.Fatalf("read %d deltas, want 48", deltas)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchEvents), "ns/event")
}
