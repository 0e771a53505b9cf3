package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/genzai/genzai/api"
)

func (c *cli) transcribeCmd() *cobra.Command {
	var f clientFlags
	var language, prompt string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "transcribe FILE",
		Short: "Transcribe speech in an audio file to text",
		Long: `Sends the audio in FILE (- reads it from standard input) to the gateway
(POST /api/v1/audio/transcriptions; the server must run with ENABLE_VOICE=true)
and prints what was said. The file is streamed as it is read, never held in
memory whole. The server recognises its format from its bytes (FLAC, MP3,
MP4/M4A, Ogg, WAV or WebM), takes at most MAX_AUDIO_BYTES (25 MiB by default)
and charges one unit of the daily quota.`,
		Example: "  genzai transcribe memo.m4a\n" +
			"  genzai transcribe --language fr --prompt \"Genzai, Belém\" interview.mp3\n" +
			"  genzai transcribe --json memo.ogg          # text, language, duration, provider, model\n" +
			"  ffmpeg -i talk.mkv -f ogg - | genzai transcribe -",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON {
				f.output = "json"
			}
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			audio, err := c.openAudio(args[0])
			if err != nil {
				return err
			}
			defer audio.Close()
			// The options go before the file, so that a server reading the
			// parts as they stream knows them before the audio.
			up, err := newUpload(audio, [][2]string{{"language", language}, {"prompt", prompt}})
			if err != nil {
				return err
			}
			res, err := cn.client.TranscribeAudioWithBodyWithResponse(cmd.Context(), up.contentType, up.body, up.edit)
			if err != nil && (errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
				// A server refusing a large upload answers and closes the
				// connection; the client may see the closed connection
				// before the answer.
				return fmt.Errorf("the server closed the connection during the upload of %s: the audio is most likely over "+
					"the server's MAX_AUDIO_BYTES (genzai models -o json shows voice.max_audio_bytes)", audio.describe())
			}
			if err := cn.check(err, func() (int, []byte) { return res.StatusCode(), res.Body }); err != nil {
				var ae *apiError
				if errors.As(err, &ae) && ae.status == http.StatusRequestEntityTooLarge && audio.size >= 0 {
					ae.hint = audio.name + " is " + humanBytes(audio.size)
				}
				return err
			}
			reply, err := parsed(res.JSON200, res.Body)
			if err != nil {
				return err
			}
			if cn.json {
				return printJSON(c.stdout, res.Body)
			}
			// Whisper starts its text with a space.
			_, err = fmt.Fprintln(c.stdout, strings.TrimSpace(reply.Text))
			return err
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&language, "language", "", "the spoken language as an ISO-639-1 code (en, fr); detected when not given")
	cmd.Flags().StringVar(&prompt, "prompt", "", "text to guide spelling and style (names, jargon), at most 1000 characters")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the server's JSON (the same as -o json)")
	return cmd
}

// audioFile is the audio a transcription uploads.
type audioFile struct {
	io.ReadCloser
	// name is the file's base name, sent as the part's file name.
	name string
	// size is -1 when not known beforehand (standard input, a pipe).
	size int64
}

// describe names the audio, with its size when known.
func (a *audioFile) describe() string {
	if a.size < 0 {
		return a.name
	}
	return a.name + ", " + humanBytes(a.size)
}

// openAudio opens path, or standard input for "-".
func (c *cli) openAudio(path string) (*audioFile, error) {
	if path == "-" {
		if c.stdinIsTerminal() {
			return nil, usageErrorf("standard input is a terminal: pipe the audio in (genzai transcribe - < memo.ogg) or name the file")
		}
		return &audioFile{ReadCloser: io.NopCloser(c.stdin), name: "audio", size: -1}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open the audio: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open the audio: %w", err)
	}
	a := &audioFile{ReadCloser: f, name: filepath.Base(path), size: -1}
	switch {
	case info.IsDir():
		f.Close()
		return nil, fmt.Errorf("%s is a directory, not an audio file", path)
	case !info.Mode().IsRegular():
		// A named pipe or a device: its length is known once read.
	case info.Size() == 0:
		f.Close()
		return nil, fmt.Errorf("%s is empty", path)
	default:
		a.size = info.Size()
	}
	return a, nil
}

// upload is a multipart/form-data body that streams the audio between a
// head (the fields and the file part's header) and a tail (the closing
// boundary) built in memory: the file is read once, as it is sent.
type upload struct {
	body        io.Reader
	contentType string
	// length is the body's length, -1 when the audio's is unknown (the
	// body then goes chunked).
	length int64
}

func newUpload(audio *audioFile, fields [][2]string) (*upload, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, kv := range fields {
		if kv[1] == "" {
			continue
		}
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
			return nil, fmt.Errorf("build the form: %w", err)
		}
	}
	if _, err := mw.CreateFormFile("file", audio.name); err != nil {
		return nil, fmt.Errorf("build the form: %w", err)
	}
	head := bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("build the form: %w", err)
	}
	tail := buf.Bytes()
	up := &upload{body: io.MultiReader(bytes.NewReader(head), audio, bytes.NewReader(tail)), contentType: mw.FormDataContentType(), length: -1}
	if audio.size >= 0 {
		up.length = int64(len(head)) + audio.size + int64(len(tail))
	}
	return up, nil
}

// edit completes the request the generated client built: the length, which
// lets the server refuse an oversized upload before reading it, and
// "Expect: 100-continue", so that a refusal (voice off, a bad token, too
// large) comes before the audio is sent at all.
func (up *upload) edit(_ context.Context, r *http.Request) error {
	if up.length >= 0 {
		r.ContentLength = up.length
	}
	r.Header.Set("Expect", "100-continue")
	return nil
}

// speechFormats are the formats speech answers in, as the spec names them.
var speechFormats = []string{"wav", "mp3", "flac", "ogg"}

// audioExtensions map a file's extension to the format written to it.
var audioExtensions = map[string]string{".wav": "wav", ".mp3": "mp3", ".flac": "flac", ".ogg": "ogg", ".oga": "ogg", ".opus": "ogg"}

func (c *cli) speakCmd() *cobra.Command {
	var f clientFlags
	var file, voice, format string
	cmd := &cobra.Command{
		Use:   "speak TEXT",
		Short: "Read text aloud into an audio file",
		Long: `Sends TEXT (- reads it from standard input) to the gateway
(POST /api/v1/audio/speech; the server must run with ENABLE_VOICE=true) and
writes the audio to the file --output names, created readable by you alone,
or to standard output with -o -. The format is --format, else the file's
extension (.wav, .mp3, .flac, .ogg), else wav. Without --output the audio goes
to standard output only when that is not a terminal. The text may be at most
MAX_SPEECH_CHARS characters (4096 by default); speech costs one unit of the
daily quota. The voices the server knows are listed by
genzai models -o json (voice.voices).`,
		Example: "  genzai speak \"Hello! How can I help you today?\" -o hello.wav\n" +
			"  genzai speak --voice Celeste-PlayAI \"Bonjour\" -o bonjour.mp3\n" +
			"  genzai speak \"Testing, one, two\" -o - | aplay\n" +
			"  genzai chat --no-stream \"A haiku about rain\" | genzai speak - -o haiku.ogg",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fmtName, err := speechFormat(format, file)
			if err != nil {
				return err
			}
			if file == "" && c.stdoutIsTerminal() {
				return usageErrorf("will not write audio to a terminal: name a file with --output (genzai speak TEXT -o out.wav), or -o - to write to standard output anyway")
			}
			text := args[0]
			if text == "-" {
				if text, err = c.readText(); err != nil {
					return err
				}
			}
			cn, err := c.connect(f)
			if err != nil {
				return err
			}
			body := api.SynthesizeSpeechJSONRequestBody{Input: text}
			if voice != "" {
				body.Voice = &voice
			}
			if fmtName != "" {
				sf := api.SpeechRequestFormat(fmtName)
				body.Format = &sf
			}
			// The raw client: the audio streams to its destination rather
			// than being read whole first.
			res, err := cn.client.SynthesizeSpeech(cmd.Context(), body)
			if err != nil {
				return cn.check(err, nil)
			}
			defer res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
				if err := cn.checkStatus(res.StatusCode, b); err != nil {
					return err
				}
				return fmt.Errorf("unexpected answer from the server: %s", res.Status)
			}
			mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
			if !strings.HasPrefix(mt, "audio/") {
				b, _ := io.ReadAll(io.LimitReader(res.Body, 200))
				return fmt.Errorf("unexpected answer from the server: %s where audio was due: %q", res.Header.Get("Content-Type"), b)
			}
			if file == "" || file == "-" {
				if _, err := io.Copy(c.stdout, res.Body); err != nil {
					return fmt.Errorf("write the audio: %w", err)
				}
				return nil
			}
			n, err := writeFileFrom(file, res.Body)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stderr, "wrote %s: %s, %d bytes, by %s (%s)\n",
				file, mt, n, res.Header.Get("X-Genzai-Provider"), res.Header.Get("X-Genzai-Model"))
			return err
		},
	}
	// --output names the file here, as for "image": no output format.
	cmd.Flags().StringVar(&f.host, "host", "", "server URL (default: GENZAI_HOST, the config file, then "+defaultHost+")")
	cmd.Flags().StringVar(&f.token, "token", "", "access token or API key (default: GENZAI_TOKEN, then the config file)")
	cmd.Flags().StringVarP(&file, "output", "o", "", "the file to write the audio to, - for standard output")
	cmd.Flags().StringVar(&voice, "voice", "", "one of the server's voices (default: its GROQ_SPEECH_VOICE)")
	cmd.Flags().StringVar(&format, "format", "", "wav, mp3, flac or ogg (default: from the file's extension, else wav)")
	return cmd
}

// speechFormat is the format to ask for: the flag, else the file's
// extension; "" leaves the server's default (wav).
func speechFormat(flag, file string) (string, error) {
	ext := ""
	if file != "-" {
		ext = strings.ToLower(filepath.Ext(file))
	}
	byExt, known := audioExtensions[ext]
	switch {
	case flag != "":
		if !slices.Contains(speechFormats, flag) {
			return "", usageErrorf("--format must be one of %s", strings.Join(speechFormats, ", "))
		}
		if known && byExt != flag {
			return "", usageErrorf("--format %s does not match %s: name the file .%s, or leave --format out", flag, filepath.Base(file), flag)
		}
		return flag, nil
	case known:
		return byExt, nil
	case ext == "":
		return "", nil
	default:
		return "", usageErrorf("cannot tell the audio format from %s: name the file .wav, .mp3, .flac or .ogg, or give --format", filepath.Base(file))
	}
}

// readText reads the text to speak from standard input.
func (c *cli) readText() (string, error) {
	if c.stdinIsTerminal() {
		return "", usageErrorf("standard input is a terminal: pipe the text in, or give it as the argument")
	}
	// A bound far above any server's MAX_SPEECH_CHARS, which says the limit.
	b, err := io.ReadAll(io.LimitReader(c.lines(), 1<<20))
	if err != nil {
		return "", fmt.Errorf("read the text: %w", err)
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return "", usageErrorf("no text on standard input")
	}
	return text, nil
}

// writeFileFrom writes r to path through a temporary file beside it,
// renamed once complete, so that a failed download leaves no partial file;
// the file is readable by its owner alone.
func writeFileFrom(path string, r io.Reader) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.part")
	if err != nil {
		return 0, fmt.Errorf("write the audio: %w", err)
	}
	n, err := io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return 0, fmt.Errorf("write the audio: %w", err)
	}
	return n, nil
}

// humanBytes is a size in bytes as people read it.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB (%d bytes)", float64(n)/(1<<20), n)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB (%d bytes)", float64(n)/(1<<10), n)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
