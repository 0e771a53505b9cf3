package domain_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/domain"
)

// The first bytes of real files of each kind.
var (
	flacHeader    = []byte("fLaC\x00\x00\x00\x22\x10\x00\x10\x00")                                 // STREAMINFO block follows
	mp3ID3Header  = []byte("ID3\x04\x00\x00\x00\x00\x00\x23TSSE\x00\x00\x00\x0f")                  // an ID3v2.4 tag
	mp3Frame      = []byte{0xFF, 0xFB, 0x90, 0x64, 0x00, 0x00}                                     // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz
	mp3MPEG2Frame = []byte{0xFF, 0xF3, 0x48, 0xC4}                                                 // MPEG-2 Layer III, 24 kHz
	m4aHeader     = []byte("\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00M4A isommp42")                 // iTunes AAC
	mp4Header     = []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")                     // a video's container
	oggHeader     = []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x3c\x43\x00\x00OpusHead") // Ogg Opus
	wavHeader     = []byte("RIFF\x24\x08\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00")         // PCM
	webmHeader    = []byte{0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0xF7}       // EBML header, as browsers record
)

func TestSniffAudio(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data []byte
		want domain.AudioFormat
	}{
		{"flac", flacHeader, domain.AudioFLAC},
		{"mp3 with an ID3 tag", mp3ID3Header, domain.AudioMP3},
		{"mp3 frame", mp3Frame, domain.AudioMP3},
		{"mpeg-2 frame", mp3MPEG2Frame, domain.AudioMP3},
		{"m4a", m4aHeader, domain.AudioMP4},
		{"mp4", mp4Header, domain.AudioMP4},
		{"ogg", oggHeader, domain.AudioOgg},
		{"wav", wavHeader, domain.AudioWAV},
		{"webm", webmHeader, domain.AudioWebM},
		{"webp is RIFF but not audio", []byte("RIFF\x10\x00\x00\x00WEBPVP8 "), ""},
		{"jpeg starts with 0xFF but no frame sync", []byte{0xFF, 0xD8, 0xFF, 0xE0}, ""},
		{"aac adts has layer 0", []byte{0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC}, ""},
		{"frame with a bad bitrate", []byte{0xFF, 0xFB, 0xF0, 0x00}, ""},
		{"frame with a reserved version", []byte{0xFF, 0xEB, 0x90, 0x00}, ""},
		{"png", []byte("\x89PNG\r\n\x1a\n"), ""},
		{"heic image is ISO media too", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), ""},
		{"avif image is ISO media too", []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"), ""},
		{"text that opens with ID3", []byte("ID3 tags are metadata"), ""},
		{"html", []byte("<!DOCTYPE html><html>"), ""},
		{"json", []byte(`{"error":{"message":"x"}}`), ""},
		{"text", []byte("just some words"), ""},
		{"too short", []byte("fLa"), ""},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, domain.SniffAudio(tt.data))
		})
	}
}

func TestCheckAudio(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		want  domain.AudioFormat
		audio domain.Audio
		mime  string
		fails bool
	}{
		{"wav as asked", domain.AudioWAV, domain.Audio{Data: wavHeader, MIMEType: "audio/wav"}, "audio/wav", false},
		{"claim ignored for the bytes", domain.AudioMP3, domain.Audio{Data: mp3ID3Header, MIMEType: "application/octet-stream"}, "audio/mpeg", false},
		{"ogg unclaimed", domain.AudioOgg, domain.Audio{Data: oggHeader}, "audio/ogg", false},
		{"any format", "", domain.Audio{Data: flacHeader}, "audio/flac", false},
		{"html", domain.AudioWAV, domain.Audio{Data: []byte("<!DOCTYPE html><html>"), MIMEType: "text/html"}, "", true},
		{"json claimed as audio", domain.AudioWAV, domain.Audio{Data: []byte(`{"error":"x"}`), MIMEType: "audio/wav"}, "", true},
		{"another format than asked", domain.AudioWAV, domain.Audio{Data: mp3Frame, MIMEType: "audio/wav"}, "", true},
		{"empty", domain.AudioWAV, domain.Audio{}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.CheckAudio(domain.ProviderGroq, tt.want, tt.audio)
			if tt.fails {
				var pe *domain.ProviderError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, domain.ReasonBadResponse, pe.Reason)
				assert.Equal(t, domain.FailureRetryable, pe.Class)
				assert.Equal(t, domain.ProviderGroq, pe.Provider)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.mime, got.MIMEType)
			assert.Equal(t, domain.SniffAudio(tt.audio.Data), got.Format)
			assert.Equal(t, tt.audio.Data, got.Data)
		})
	}
}

func TestAudioFormatMIMEType(t *testing.T) {
	t.Parallel()
	for f, want := range map[domain.AudioFormat]string{
		domain.AudioFLAC: "audio/flac", domain.AudioMP3: "audio/mpeg", domain.AudioMP4: "audio/mp4",
		domain.AudioOgg: "audio/ogg", domain.AudioWAV: "audio/wav", domain.AudioWebM: "audio/webm", "aac": "",
	} {
		assert.Equal(t, want, f.MIMEType(), f)
	}
}
