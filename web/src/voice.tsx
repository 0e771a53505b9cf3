// Voice in the chat: a microphone that records into the prompt (POST
// /api/v1/audio/transcriptions) and a speaker that reads an answer aloud
// (POST /api/v1/audio/speech). Both only when the server has voice on
// (voice.enabled in GET /api/v1/models).
import { useEffect, useRef, useState } from "preact/hooks";
import { api, problemOf, type Problem } from "./api/client";
import { renderMarkdown } from "./markdown";

/** canRecord: this browser can ask for a microphone and record from it. */
export function canRecord(): boolean {
  return typeof navigator.mediaDevices?.getUserMedia === "function" && typeof MediaRecorder !== "undefined";
}

// Recording formats the server recognises (WebM, Ogg, MP4), in the order
// browsers record them best; the first the browser supports is used.
const formats = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/ogg", "audio/mp4"];

/** VoicePhase is what the microphone is doing. */
export type VoicePhase = "idle" | "starting" | "recording" | "transcribing";

/** voiceWords says what the microphone is doing, for the page and its live region. */
export function voiceWords(phase: VoicePhase): string {
  switch (phase) {
    case "recording":
      return "Recording… press Dictate again or Esc to stop.";
    case "transcribing":
      return "Transcribing…";
    default:
      return "";
  }
}

interface Recording {
  recorder: MediaRecorder;
  stream: MediaStream;
  chunks: Blob[];
  // keep: send what was recorded when it stops (false: thrown away).
  keep: boolean;
}

/**
 * Microphone records while pressed (press again, or Esc, to stop), sends
 * the recording to be transcribed and hands the text to onText; it never
 * sends the prompt. Its state is on the button (aria-pressed) and goes to
 * onPhase, for the page to show and announce; failures go to onProblem.
 */
export function Microphone({ maxBytes, disabled, onText, onPhase, onProblem, onDone }: {
  maxBytes: number;
  disabled: boolean;
  onText: (text: string) => void;
  onPhase: (phase: VoicePhase) => void;
  onProblem: (p: Problem) => void;
  // onDone: a transcription was asked for (it took quota, or refunded it).
  onDone: () => void;
}) {
  const [phase, setPhaseHere] = useState<VoicePhase>("idle");
  const setPhase = (p: VoicePhase) => {
    setPhaseHere(p);
    onPhase(p);
  };
  const rec = useRef<Recording | null>(null);
  const sending = useRef<AbortController | null>(null);
  // mounted: a microphone granted after the page moved on is let go.
  const mounted = useRef(true);

  useEffect(() => {
    // Esc ends a recording (or a transcription) before it reaches the
    // chat's own Esc, which would stop an answer being written: captured
    // first, and marked as handled.
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== "Escape" || e.defaultPrevented) return;
      if (rec.current) stop(true);
      else if (sending.current) sending.current.abort();
      else return;
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey, true);
    return () => {
      window.removeEventListener("keydown", onKey, true);
      // Leaving the page ends the recording, sending nothing.
      mounted.current = false;
      if (rec.current) stop(false);
      sending.current?.abort();
      onPhase("idle");
    };
  }, []);

  async function start() {
    setPhase("starting");
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      setPhase("idle");
      onProblem(microphoneProblem(err));
      return;
    }
    if (!mounted.current) {
      stream.getTracks().forEach((t) => t.stop());
      return;
    }
    const mimeType = formats.find((f) => MediaRecorder.isTypeSupported(f));
    try {
      const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : {});
      const r: Recording = { recorder, stream, chunks: [], keep: true };
      recorder.addEventListener("dataavailable", (e) => {
        if (e.data.size > 0) r.chunks.push(e.data);
      });
      recorder.addEventListener("stop", () => {
        // The browser may end a recording itself (its tracks ended: the
        // microphone unplugged or revoked): it is over all the same, and
        // Esc is no longer this recording's.
        if (rec.current === r) rec.current = null;
        r.stream.getTracks().forEach((t) => t.stop());
        if (r.keep) void send(new Blob(r.chunks, { type: recorder.mimeType || mimeType || "audio/webm" }));
        else setPhase("idle");
      });
      recorder.start();
      rec.current = r;
      setPhase("recording");
    } catch (err) {
      stream.getTracks().forEach((t) => t.stop());
      setPhase("idle");
      onProblem(microphoneProblem(err));
    }
  }

  // stop ends the recording; keep says whether to transcribe it.
  function stop(keep: boolean) {
    const r = rec.current;
    if (!r) return;
    rec.current = null;
    r.keep = keep;
    if (r.recorder.state !== "inactive") r.recorder.stop();
    else r.stream.getTracks().forEach((t) => t.stop());
  }

  async function send(audio: Blob) {
    if (audio.size === 0) {
      setPhase("idle");
      onProblem({ message: "Nothing was recorded: check the microphone, then try again.", code: "no_audio", requestId: "" });
      return;
    }
    if (audio.size > maxBytes) {
      setPhase("idle");
      onProblem({ message: `The recording is too long (this server takes at most ${megabytes(maxBytes)}): record a shorter one.`, code: "payload_too_large", requestId: "" });
      return;
    }
    setPhase("transcribing");
    const ctrl = new AbortController();
    sending.current = ctrl;
    const form = new FormData();
    form.append("file", audio, `recording.${extension(audio.type)}`);
    try {
      // The typed body names the form's fields; the serializer sends the
      // recording itself, as the multipart form the spec describes.
      const r = await api.POST("/api/v1/audio/transcriptions", {
        body: { file: "" },
        bodySerializer: () => form,
        signal: ctrl.signal,
      });
      if (!r.data) onProblem(problemOf(r.error, r.response));
      else if (r.data.text.trim() === "") onProblem({ message: "Nothing was heard in the recording: speak closer to the microphone, then try again.", code: "no_speech", requestId: r.data.request_id });
      else onText(r.data.text.trim());
    } catch (err) {
      const p = problemOf(err);
      if (p.code !== "aborted") onProblem(p);
    } finally {
      if (sending.current === ctrl) sending.current = null;
      setPhase("idle");
      onDone();
    }
  }

  const recording = phase === "recording";
  return (
    <button type="button" class={`small mic ${phase}`} aria-pressed={recording}
      disabled={disabled || phase === "starting" || phase === "transcribing"}
      onClick={() => (recording ? stop(true) : void start())}>
      Dictate
    </button>
  );
}

// microphoneProblem words why the microphone could not record.
function microphoneProblem(err: unknown): Problem {
  const name = err instanceof DOMException ? err.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return { message: "The browser did not allow the microphone: allow it for this site, then press Dictate again.", code: "microphone_denied", requestId: "" };
    case "NotFoundError":
    case "OverconstrainedError":
      return { message: "No microphone was found: connect one, then press Dictate again.", code: "microphone_missing", requestId: "" };
    case "NotReadableError":
    case "AbortError":
      return { message: "The microphone could not start (another app may be using it): try again.", code: "microphone_busy", requestId: "" };
    default:
      return { message: "This browser could not record: try another browser.", code: "microphone_failed", requestId: "" };
  }
}

// extension is a file name's extension for a recording's type (the
// server goes by the bytes; the name only helps someone reading a log).
function extension(type: string): string {
  if (type.startsWith("audio/ogg")) return "ogg";
  if (type.startsWith("audio/mp4")) return "m4a";
  return "webm";
}

function megabytes(n: number): string {
  return `${Math.floor(n / (1024 * 1024))} MB`;
}

/** Speaker is the answer being read aloud, and what went wrong last. */
export interface Speaker {
  // speaking: the key of the message being fetched or played.
  speaking: string | null;
  // problem: why the last message asked for could not be read.
  problem: { key: string; problem: Problem } | null;
  toggle(key: string, markdown: string): void;
  stop(): void;
}

interface Playing {
  key: string;
  ctrl: AbortController;
  audio?: HTMLAudioElement;
  url?: string;
}

/**
 * useSpeaker reads answers aloud one at a time: toggle fetches an answer's
 * speech and plays it from a blob: URL, or stops it when it is the one
 * playing; another answer's toggle stops the first.
 */
export function useSpeaker(maxChars: number, onDone: () => void, word: (p: Problem) => Problem): Speaker {
  const [speaking, setSpeaking] = useState<string | null>(null);
  const [problem, setProblem] = useState<Speaker["problem"]>(null);
  const current = useRef<Playing | null>(null);

  function stop() {
    const c = current.current;
    if (!c) return;
    current.current = null;
    c.ctrl.abort();
    if (c.audio) {
      c.audio.pause();
      c.audio.remove();
    }
    if (c.url) URL.revokeObjectURL(c.url);
    setSpeaking(null);
  }
  useEffect(() => stop, []);

  async function play(key: string, markdown: string) {
    const input = speechText(markdown, maxChars);
    if (input === "") return;
    const c: Playing = { key, ctrl: new AbortController() };
    current.current = c;
    setProblem(null);
    setSpeaking(key);
    try {
      const r = await api.POST("/api/v1/audio/speech", { body: { input, format: "wav" }, parseAs: "blob", signal: c.ctrl.signal });
      if (current.current !== c) return;
      if (!r.data) {
        fail(c, problemOf(r.error, r.response));
        return;
      }
      // parseAs "blob" reads a Blob; openapi-fetch's types miss that for
      // this route (they infer the spec's binary string).
      c.url = URL.createObjectURL(r.data as unknown as Blob);
      // In the document (not shown: no controls), where a page's own
      // script or a test can see what plays.
      c.audio = new Audio(c.url);
      c.audio.addEventListener("ended", () => {
        if (current.current === c) stop();
      });
      document.body.append(c.audio);
      await c.audio.play();
    } catch (err) {
      if (current.current !== c) return;
      const p = problemOf(err);
      fail(c, err instanceof DOMException && p.code !== "aborted"
        ? { message: "The browser could not play the answer's audio.", code: "playback_failed", requestId: "" }
        : p);
    } finally {
      // The request took quota (or gave it back): the header says so.
      onDone();
    }
  }

  function fail(c: Playing, p: Problem) {
    stop();
    setProblem({ key: c.key, problem: word(p) });
  }

  return {
    speaking,
    problem,
    stop,
    toggle(key, markdown) {
      const again = current.current?.key === key;
      stop();
      if (!again) void play(key, markdown);
    },
  };
}

// speechText is an answer as plain text to be read: the Markdown rendered
// and its text taken (no markup, no link targets), blocks ending as
// sentences, whitespace and control characters as single spaces (the API
// refuses control characters), cut at a word to at most max characters.
export function speechText(markdown: string, max: number): string {
  // A parsed document is inert: nothing in it runs or loads.
  const doc = new DOMParser().parseFromString(renderMarkdown(markdown), "text/html");
  const blocks = ["p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "td", "th", "dt", "dd"];
  for (const el of doc.body.querySelectorAll(blocks.join(","))) el.append("\n");
  const text = (doc.body.textContent ?? "")
    .split("\n")
    .map((line) => line.replace(/[\s\p{Cc}]+/gu, " ").trim())
    .filter((line) => line !== "")
    .map((line) => (/[.!?:;…]$/.test(line) ? line : `${line}.`))
    .join(" ");
  // Characters, as the API counts them: code points, not UTF-16 units.
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  const cut = chars.slice(0, max).join("");
  const space = cut.lastIndexOf(" ");
  return space > cut.length / 2 ? cut.slice(0, space) : cut;
}
