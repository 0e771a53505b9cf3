package fakeupstream

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"time"
)

// DefaultTranscript is what transcription requests answer unless told
// otherwise (Transcript).
const DefaultTranscript = "Hello from the fake upstream."

// WAV returns a valid WAV file: a PCM header and a few silent samples.
func WAV() []byte {
	const samples, rate = 8, 48000
	var b bytes.Buffer
	b.WriteString("RIFF")
	must(binary.Write(&b, binary.LittleEndian, uint32(36+2*samples)))
	b.WriteString("WAVEfmt ")
	// fmt chunk: size, PCM, mono, the rate, bytes per second, block
	// align, bits per sample.
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		must(binary.Write(&b, binary.LittleEndian, v))
	}
	b.WriteString("data")
	must(binary.Write(&b, binary.LittleEndian, uint32(2*samples)))
	b.Write(make([]byte, 2*samples))
	return b.Bytes()
}

// MP3 returns the start of an MP3 file: an empty ID3v2.4 tag and an MPEG-1
// Layer III frame header.
func MP3() []byte {
	return append([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"), 0xFF, 0xFB, 0x90, 0x64, 0, 0, 0, 0)
}

// FLAC returns the start of a FLAC file: its marker and a STREAMINFO block.
func FLAC() []byte {
	return append([]byte("fLaC\x80\x00\x00\x22"), make([]byte, 34)...)
}

// Ogg returns the first page of an Ogg Opus file.
func Ogg() []byte {
	return []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x3c\x43\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x13OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00")
}

// audioOf is the audio a speech request in format answers by default.
func audioOf(format string) ([]byte, string) {
	switch format {
	case "mp3":
		return MP3(), "audio/mpeg"
	case "flac":
		return FLAC(), "audio/flac"
	case "ogg", "opus":
		return Ogg(), "audio/ogg"
	}
	return WAV(), "audio/wav"
}

// transcript is what a transcription answers.
type transcript struct {
	text, language string
	duration       time.Duration
}

// Transcript answers transcription requests with text, heard in language
// (Groq names it in words: "English") over duration, in the form the
// request's response_format asks for as Groq does: json {"text", "x_groq"},
// verbose_json adding task, language, duration and segments, or text
// alone. Other requests are answered as OK(Tokens(3)...) would.
func Transcript(text, language string, duration time.Duration) Behaviour {
	b := OK(Tokens(3)...)
	b.transcript = &transcript{text: text, language: language, duration: duration}
	return b
}

// Speech answers speech requests with data claimed as contentType
// (whatever format was asked for). Other requests are answered as
// OK(Tokens(3)...) would. OK's default answers the format asked for
// (WAV(), MP3(), FLAC() or Ogg()) with its media type.
func Speech(contentType string, data []byte) Behaviour {
	b := OK(Tokens(3)...)
	b.audio, b.audioType = append([]byte(nil), data...), contentType
	return b
}

// GroqError answers like Groq's OpenAI-compatible API failing: code with
// {"error":{"message","type","code"}} (code left out when empty).
func GroqError(code int, message, typ, errCode string) Behaviour {
	return Status(code, string(errorJSONWithCode(message, typ, errCode)))
}

// recordForm records a multipart body's fields and its file part.
func recordForm(rec *Request, body []byte, boundary string) {
	rec.Form = map[string]string{}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err != nil {
			break // io.EOF, or a broken form: what was read is kept
		}
		data, err := io.ReadAll(p)
		if err != nil {
			break
		}
		if p.FileName() != "" || p.FormName() == "file" {
			rec.File, rec.FileName, rec.FileType = data, p.FileName(), p.Header.Get("Content-Type")
			continue
		}
		rec.Form[p.FormName()] = string(data)
	}
	rec.Model = rec.Form["model"]
}

// oddWhole answers the behaviours that break a whole answer (hang, drop,
// an error object or junk with status 200); false when b answers normally.
func (c *call) oddWhole() bool {
	b := c.b
	switch b.kind {
	case kindHangAfter:
		c.hang()
	case kindDrop:
		c.drop()
	case kindMidStreamError:
		writeJSON(c.w, http.StatusOK, b.header, []byte(b.errData))
	case kindGarbage:
		writeJSON(c.w, http.StatusOK, b.header, []byte(b.junk))
	default:
		return false
	}
	return true
}

// transcription answers Groq's POST /audio/transcriptions: a form without
// a file is refused as Groq refuses it.
func (c *call) transcription() {
	if c.oddWhole() {
		return
	}
	if c.rec.File == nil {
		writeJSON(c.w, http.StatusBadRequest, nil, errorJSONWithCode("file or url must be provided", "invalid_request_error", ""))
		return
	}
	t := transcript{text: DefaultTranscript, language: "English", duration: 1500 * time.Millisecond}
	if c.b.transcript != nil {
		t = *c.b.transcript
	}
	xgroq := map[string]string{"id": "req_fake"}
	var resp map[string]any
	switch format := c.rec.Form["response_format"]; format {
	case "text":
		c.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for k, vs := range c.b.header {
			c.w.Header()[k] = vs
		}
		c.w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(c.w, " "+t.text+"\n")
		return
	case "verbose_json":
		resp = map[string]any{
			"task": "transcribe", "language": t.language, "duration": t.duration.Seconds(),
			// Whisper opens its text with a space.
			"text": " " + t.text,
			"segments": []any{map[string]any{
				"id": 0, "seek": 0, "start": 0, "end": t.duration.Seconds(), "text": " " + t.text,
				"tokens": []int{50365, 2425}, "temperature": 0, "avg_logprob": -0.2, "compression_ratio": 0.8, "no_speech_prob": 0.01,
			}},
			"x_groq": xgroq,
		}
	default:
		resp = map[string]any{"text": " " + t.text, "x_groq": xgroq}
	}
	body, err := json.Marshal(resp)
	must(err)
	writeJSON(c.w, http.StatusOK, c.b.header, body)
}

// speech answers Groq's POST /audio/speech with the audio's bytes.
func (c *call) speech() {
	if c.oddWhole() {
		return
	}
	if strings.TrimSpace(c.rec.Input) == "" {
		writeJSON(c.w, http.StatusBadRequest, nil, errorJSONWithCode("input is required", "invalid_request_error", ""))
		return
	}
	data, typ := audioOf(c.rec.ResponseFormat)
	if c.b.audio != nil {
		data, typ = c.b.audio, c.b.audioType
	}
	h := c.w.Header()
	h.Set("Content-Type", typ)
	for k, vs := range c.b.header {
		h[k] = vs
	}
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(data)
}

// errorJSONWithCode is Groq's error object, with a string code (left out
// when empty).
func errorJSONWithCode(message, typ, code string) []byte {
	e := map[string]string{"message": message, "type": typ}
	if code != "" {
		e["code"] = code
	}
	b, err := json.Marshal(map[string]any{"error": e})
	must(err)
	return b
}
