package domain

import (
	"bytes"
	"fmt"
	"time"
)

// AudioFormat names an audio container the gateway recognises by its bytes.
type AudioFormat string

// The audio formats: what transcription accepts (all of them) and what
// speech can answer (WAV, MP3, FLAC, Ogg).
const (
	AudioFLAC AudioFormat = "flac"
	AudioMP3  AudioFormat = "mp3"
	// AudioMP4 is the MP4 container (M4A audio among it).
	AudioMP4  AudioFormat = "mp4"
	AudioOgg  AudioFormat = "ogg"
	AudioWAV  AudioFormat = "wav"
	AudioWebM AudioFormat = "webm"
)

// MIMEType is the format's media type ("" for an unknown format).
func (f AudioFormat) MIMEType() string {
	switch f {
	case AudioFLAC:
		return "audio/flac"
	case AudioMP3:
		return "audio/mpeg"
	case AudioMP4:
		return "audio/mp4"
	case AudioOgg:
		return "audio/ogg"
	case AudioWAV:
		return "audio/wav"
	case AudioWebM:
		return "audio/webm"
	}
	return ""
}

// TranscriptionRequest is one request to turn speech into text, as a
// provider is asked.
type TranscriptionRequest struct {
	// Audio is the whole upload.
	Audio []byte
	// Format is what the bytes are (SniffAudio).
	Format AudioFormat
	// Language is the spoken language as an ISO-639-1 code; "": detected.
	Language string
	// Prompt guides the style or spelling; may be empty.
	Prompt string
	// Model is the provider's model; the router fills it in from the route.
	Model string
}

// Transcription is what a provider heard.
type Transcription struct {
	Text string
	// Language is the language the provider heard, as it names it ("" when
	// it did not say).
	Language string
	// Duration is the audio's length as the provider measured it (0 when
	// it did not say).
	Duration time.Duration
}

// SpeechRequest is one request to read text aloud, as a provider is asked.
type SpeechRequest struct {
	Input string
	// Voice is one of the model's voices.
	Voice string
	// Format is the audio format wanted.
	Format AudioFormat
	// Model is the provider's model; the router fills it in from the route.
	Model string
}

// Audio is spoken text: its bytes and their media type.
type Audio struct {
	Data     []byte
	MIMEType string
	// Format is what the bytes are, once CheckAudio has looked ("" before).
	Format AudioFormat
}

// SniffAudio names the audio format of b from its first bytes; "" when b
// is none of them (HTML, JSON, an image, text...). Only the container is
// recognised: what it holds is the provider's to decode.
func SniffAudio(b []byte) AudioFormat {
	switch {
	case bytes.HasPrefix(b, []byte("fLaC")):
		return AudioFLAC
	case isID3Tag(b), isMPEGFrame(b):
		return AudioMP3
	case len(b) >= 12 && string(b[4:8]) == "ftyp" && !imageBrands[string(b[8:12])]:
		return AudioMP4
	case bytes.HasPrefix(b, []byte("OggS")):
		return AudioOgg
	case len(b) >= 12 && bytes.HasPrefix(b, []byte("RIFF")) && string(b[8:12]) == "WAVE":
		return AudioWAV
	case bytes.HasPrefix(b, []byte{0x1A, 0x45, 0xDF, 0xA3}):
		return AudioWebM
	}
	return ""
}

// imageBrands are the major brands of ISO media files that hold images
// (HEIF, HEIC, AVIF), not sound: their ftyp box is an MP4's.
var imageBrands = map[string]bool{
	"heic": true, "heix": true, "heim": true, "heis": true, "hevc": true, "hevx": true,
	"mif1": true, "msf1": true, "avif": true, "avis": true,
}

// isID3Tag reports whether b opens with an ID3v2 tag header: "ID3", a
// major version of 2 to 4, a revision that is not 0xFF and a syncsafe
// size (each byte under 0x80), so that text opening with the word ID3 is
// not taken for an MP3.
func isID3Tag(b []byte) bool {
	if len(b) < 10 || !bytes.HasPrefix(b, []byte("ID3")) || b[3] < 2 || b[3] > 4 || b[4] == 0xFF {
		return false
	}
	return b[6]|b[7]|b[8]|b[9] < 0x80
}

// isMPEGFrame reports whether b opens with an MPEG audio frame header (an
// MP3 without ID3 tag): 11 sync bits, then a version, layer, bitrate and
// sample rate that are not the reserved or invalid values. The checks
// beyond the sync word keep AAC's ADTS headers (layer 0) and random bytes
// from passing for MP3.
func isMPEGFrame(b []byte) bool {
	if len(b) < 3 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return false
	}
	version, layer := (b[1]>>3)&3, (b[1]>>1)&3
	bitrate, rate := b[2]>>4, (b[2]>>2)&3
	return version != 1 && layer != 0 && bitrate != 0xF && rate != 3
}

// CheckAudio verifies that a provider's answer is audio of the format that
// was asked for (want; "" accepts any) and returns it with that format and
// its media type, whatever the provider claimed. A provider that answers HTML
// or JSON where audio was due, or another format, fails here: the error is
// a *ProviderError with ReasonBadResponse, so that the router falls back to
// the next provider.
func CheckAudio(p Provider, want AudioFormat, a Audio) (Audio, error) {
	got := SniffAudio(a.Data)
	switch {
	case got == "":
		return Audio{}, &ProviderError{Provider: p, Class: FailureRetryable, Reason: ReasonBadResponse,
			Message: fmt.Sprintf("answer is not audio (%d bytes)", len(a.Data))}
	case want != "" && got != want:
		return Audio{}, &ProviderError{Provider: p, Class: FailureRetryable, Reason: ReasonBadResponse,
			Message: fmt.Sprintf("asked for %s audio, answer is %s", want, got)}
	}
	a.MIMEType, a.Format = got.MIMEType(), got
	return a, nil
}
