import { useEffect, useRef, useState } from "preact/hooks";
import { api, problemOf, type ConversationMessage, type ImagesInfo, type ModelInfo, type Problem, type Quota, type Tier, type VoiceInfo } from "./api/client";
import { readEvents } from "./sse";
import { renderMarkdown } from "./markdown";
import { session } from "./session";
import { ProblemView } from "./problem";
import { Sidebar } from "./sidebar";
import { Feedback } from "./feedback";
import { useMe } from "./me";
import { CodeBlocks } from "./codeblocks";
import { explain, resetTime } from "./explain";
import { draw, Drawing, Pictures, type Picture } from "./images";
import { canRecord, Microphone, useSpeaker, voiceWords, type Speaker, type VoicePhase } from "./voice";

/** Source is a web page an answer was given to cite. */
export interface Source {
  title: string;
  url: string;
}

interface Message {
  // key tells the messages apart while earlier ones are put before them.
  key: string;
  role: "user" | "assistant";
  content: string;
  requestId?: string;
  // tier: the tier that answered (a regeneration asks the same one).
  tier?: Tier;
  // cached: the answer was replayed from the response cache.
  cached?: boolean;
  streaming?: boolean;
  problem?: Problem;
  sources?: Source[];
  // searchNote says why an answer that asked for a web search has no sources.
  searchNote?: string | undefined;
  // replacing: this answer regenerates one the conversation stored, which
  // stays stored when this one brings nothing: asking again replaces it.
  replacing?: boolean;
  // image: the message is an image request's prompt or answer, shown here
  // only (conversations hold text): neither regenerated, rated nor read.
  image?: boolean;
  pictures?: Picture[];
}

// A stored thread opens on its latest PAGE messages; "Earlier messages"
// reads PAGE more.
const PAGE = 40;

// fresh is a key for a message written here (stored ones use their id).
let written = 0;
const fresh = () => `new-${++written}`;

/** Chat is the chat page: the thread, the prompt box, the tier and the quota. */
export function Chat({ email }: { email: string }) {
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [tier, setTier] = useState<Tier>("fast");
  const [quota, setQuota] = useState<Quota | null>(null);
  const [messages, setMessages] = useState<Message[]>([]);
  const [prompt, setPrompt] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [conversation, setConversation] = useState<string | null>(null);
  const [webSearch, setWebSearch] = useState(false);
  // What the server offers beside chat (GET /api/v1/models).
  const [images, setImages] = useState<ImagesInfo | null>(null);
  const [voice, setVoice] = useState<VoiceInfo | null>(null);
  const [imageMode, setImageMode] = useState(false);
  const [voicePhase, setVoicePhase] = useState<VoicePhase>("idle");
  // earlier continues a stored thread toward its earlier messages (null:
  // none left, or a new chat).
  const [earlier, setEarlier] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const [sidebarOpen, setSidebarOpen] = useState(false);
  // listChanged tells the sidebar to read the list again.
  const [listChanged, setListChanged] = useState(0);
  // gone: conversations a first turn started and the server deleted again
  // (nothing delivered); the sidebar must not list them, even from a read
  // that raced the deletion.
  const [gone, setGone] = useState<ReadonlySet<string>>(() => new Set());
  const abort = useRef<AbortController | null>(null);
  const busy = abort.current !== null;
  const [, rerender] = useState(0);
  const end = useRef<HTMLDivElement>(null);
  // shown counts the threads selected: a page read for one no longer shown
  // is dropped rather than put before another thread's messages.
  const shown = useRef(0);
  // readingEarlier: an "Earlier messages" page is on its way; a second
  // click while it is would put the same page in twice.
  const readingEarlier = useRef(false);
  const me = useMe();
  const box = useRef<HTMLTextAreaElement>(null);
  const speaker = useSpeaker(voice?.max_speech_chars ?? 0, () => void loadQuota(),
    (p) => explain(p, { kind: "voice", quota }));
  const imaging = imageMode && images?.enabled === true;

  async function loadQuota() {
    const r = await api.GET("/api/v1/quota").catch((e: unknown) => ({ error: e, data: undefined, response: undefined }));
    if (r.data) setQuota(r.data);
  }
  useEffect(() => {
    api.GET("/api/v1/models").then((r) => {
      if (r.data) {
        setModels(r.data.models);
        setImages(r.data.images);
        setVoice(r.data.voice);
      } else setProblem(problemOf(r.error, r.response));
    }, (e: unknown) => setProblem(problemOf(e)));
    void loadQuota();
  }, []);
  // Follow the latest message (not the earlier ones put before it).
  useEffect(() => end.current?.scrollIntoView({ block: "end" }), [messages[messages.length - 1]]);
  // Out of quota, the composer waits for the reset: read the quota again then.
  const out = outOfQuota(quota, now);
  useEffect(() => {
    if (!out || !quota) return;
    const wait = Math.min(Date.parse(quota.resets_at) - Date.now() + 1000, 2 ** 31 - 1);
    const timer = window.setTimeout(() => { setNow(Date.now()); void loadQuota(); }, Math.max(wait, 1000));
    return () => window.clearTimeout(timer);
  }, [out, quota]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      // (unless the microphone took this Esc to end a recording)
      if (e.key === "Escape" && !e.defaultPrevented && abort.current) abort.current.abort();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  // update changes the answer being written (the last message).
  const update = (f: (m: Message) => Message) =>
    setMessages((ms) => ms.map((m, i) => (i === ms.length - 1 ? f(m) : m)));

  async function send() {
    const text = prompt.trim();
    if (!text || abort.current || out) return;
    setPrompt("");
    if (imaging) {
      await drawPicture(text);
      return;
    }
    setMessages((ms) => [...ms, { key: fresh(), role: "user", content: text }, { key: fresh(), role: "assistant", content: "", streaming: true, tier }]);
    await run(text, tier, false);
  }

  // drawPicture sends the prompt to image generation instead of the chat;
  // Esc or Stop cancels it like an answer.
  async function drawPicture(text: string) {
    setMessages((ms) => [...ms, { key: fresh(), role: "user", content: text, image: true }, { key: fresh(), role: "assistant", content: "", streaming: true, image: true }]);
    const ctrl = new AbortController();
    abort.current = ctrl;
    setProblem(null);
    rerender((n) => n + 1);
    const drawn = await draw(text, ctrl.signal);
    abort.current = null;
    update((m) => ("pictures" in drawn
      ? { ...m, streaming: false, requestId: drawn.requestId, pictures: drawn.pictures }
      : { ...m, streaming: false, problem: explain(drawn.problem, { kind: "image", quota, imageCost: images?.quota_cost, left: quota ? quota.limit - quota.used : undefined }) }));
    rerender((n) => n + 1);
    void loadQuota();
  }

  // insert puts dictated text at the prompt's caret, spaced from its
  // neighbours, for the user to read over and send.
  function insert(text: string) {
    const el = box.current;
    setPrompt((p) => {
      const at = Math.min(el?.selectionStart ?? p.length, p.length);
      const to = Math.min(el?.selectionEnd ?? p.length, p.length);
      const before = p.slice(0, at);
      const after = p.slice(to);
      const gap = before !== "" && !/\s$/.test(before) ? " " : "";
      const tail = after !== "" && !/^\s/.test(after) ? " " : "";
      return before + gap + text + tail + after;
    });
    el?.focus();
  }

  // regenerate asks the last prompt again, on the tier that answered it.
  // A stored answer is replaced in the conversation ("regenerate": the
  // prompt is not stored twice), also when the regeneration shown in its
  // place brought nothing (the stored one is still there); an answer that
  // never began stored nothing, so its prompt is simply sent again.
  async function regenerate() {
    const last = messages[messages.length - 1];
    const asked = messages[messages.length - 2];
    if (abort.current || out || last?.role !== "assistant" || asked?.role !== "user" || last.image) return;
    const replace = conversation !== null && (last.content !== "" || last.replacing === true);
    const t = last.tier ?? tier;
    setMessages((ms) => [...ms.slice(0, -1), { key: fresh(), role: "assistant", content: "", streaming: true, tier: t, replacing: replace }]);
    await run(asked.content, t, replace);
  }

  async function run(text: string, t: Tier, replace: boolean) {
    const ctrl = new AbortController();
    abort.current = ctrl;
    setProblem(null);
    rerender((n) => n + 1);
    const thread = shown.current;
    const turn: Turn = { startsNew: conversation === null, created: null, delivered: false };
    try {
      await stream(text, t, replace, ctrl.signal, turn);
    } catch (err) {
      update((m) => ({ ...m, problem: explain(problemOf(err), { kind: "chat", quota }) }));
    } finally {
      abort.current = null;
      update((m) => ({ ...m, streaming: false }));
      // The server deletes a conversation whose first turn delivered
      // nothing (failed, or stopped before a token): keeping its id would
      // send the next prompt to a conversation that is no more. (Unless
      // another thread was selected meanwhile: that one stays.)
      const created = turn.created;
      if (created !== null && !turn.delivered && thread === shown.current) {
        setConversation(null);
        setGone((g) => new Set(g).add(created));
      }
      rerender((n) => n + 1);
      setListChanged((n) => n + 1);
      void loadQuota();
    }
  }

  async function stream(text: string, t: Tier, replace: boolean, signal: AbortSignal, turn: Turn) {
    const r = await api.POST("/api/v1/chat", {
      body: { prompt: text, model: t, stream: true, web_search: webSearch, cache: true, conversation_id: conversation ?? "new", regenerate: replace },
      headers: { Accept: "text/event-stream" },
      parseAs: "stream",
      signal,
    });
    // parseAs "stream" leaves the body unread: the events come from it.
    const body = r.response.body;
    if (r.error || !r.response.ok || !body) {
      update((m) => ({ ...m, problem: explain(problemOf(r.error, r.response), { kind: "chat", quota }) }));
      return;
    }
    for await (const ev of readEvents(body)) {
      if (ev.event === "message") {
        const token = JSON.parse(ev.data) as string;
        if (token !== "") turn.delivered = true;
        update((m) => ({ ...m, content: m.content + token }));
      } else if (ev.event === "meta") {
        const meta = JSON.parse(ev.data) as Meta;
        if (meta.conversation_id) {
          setConversation(meta.conversation_id);
          if (turn.startsNew) turn.created = meta.conversation_id;
        }
        update((m) => ({
          ...m, requestId: meta.request_id, cached: meta.cached === true,
          sources: meta.sources ?? [], searchNote: searchNote(meta.web_search),
        }));
      } else if (ev.event === "error") {
        const e = JSON.parse(ev.data) as { error: string; code: string };
        update((m) => ({ ...m, problem: explain({ message: e.error, code: e.code, requestId: m.requestId ?? "" }, { kind: "chat", quota }) }));
      }
    }
  }

  // select continues a stored conversation (its messages loaded) or, with
  // null, starts a new one at the next prompt.
  async function select(id: string | null) {
    abort.current?.abort();
    speaker.stop();
    setSidebarOpen(false);
    setProblem(null);
    setConversation(id);
    setMessages([]);
    setEarlier(null);
    shown.current++;
    if (!id) return;
    await readThread(id, { limit: PAGE, latest: true });
  }

  // readThread reads a page of a stored thread from its end and puts it
  // before the messages shown.
  async function readThread(id: string, query: { limit: number; latest?: boolean; cursor?: string }) {
    const thread = shown.current;
    const r = await api.GET("/api/v1/conversations/{id}", { params: { path: { id }, query } })
      .catch((e: unknown) => ({ error: e, data: undefined, response: undefined }));
    if (thread !== shown.current) return;
    if (!r.data) {
      setProblem(problemOf(r.error, r.response));
      return;
    }
    const page = r.data.messages.map(stored);
    setMessages((ms) => [...page, ...ms]);
    setEarlier(r.data.next_cursor ?? null);
  }

  // readEarlier puts the page before the messages shown, once however
  // often it is asked while that page is on its way.
  async function readEarlier() {
    if (!conversation || !earlier || readingEarlier.current) return;
    readingEarlier.current = true;
    try {
      await readThread(conversation, { limit: PAGE, cursor: earlier });
    } finally {
      readingEarlier.current = false;
    }
  }

  function onKeyDown(e: KeyboardEvent) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void send();
    }
  }

  return (
    <div class={`layout${sidebarOpen ? " browsing" : ""}`}>
    <Sidebar current={conversation} open={sidebarOpen} refresh={listChanged} gone={gone} onSelect={(id) => void select(id)} />
    <div class="chat">
      <header>
        <button type="button" class="toggle" aria-controls="sidebar" aria-expanded={sidebarOpen}
          onClick={() => setSidebarOpen((o) => !o)}>Conversations</button>
        <h1>genzai</h1>
        <label for="tier">Tier</label>
        <select id="tier" value={tier} onChange={(e) => setTier(e.currentTarget.value as Tier)}>
          {models.length === 0 && <option value="fast">Fast</option>}
          {models.map((m) => (
            <option value={m.id} key={m.id}>{m.name}{m.available ? "" : " (unavailable)"}</option>
          ))}
        </select>
        <QuotaView quota={quota} />
        <span class="who" title={email}>{email}</span>
        {me?.is_admin && <a href="#/admin">Dashboard</a>}
        <a href="#/status">Status</a>
        <a href="#/settings">Settings</a>
        <button type="button" onClick={() => { abort.current?.abort(); session.clear(); }}>Sign out</button>
      </header>
      <main aria-live="polite" aria-busy={busy}>
        {messages.length === 0 && <p class="muted">Ask anything. Enter sends, Shift+Enter starts a new line, Esc stops.</p>}
        {earlier && conversation && (
          <button type="button" class="earlier" onClick={() => void readEarlier()}>
            Earlier messages
          </button>
        )}
        {messages.map((m, i) => {
          const last = i === messages.length - 1 && m.role === "assistant" && !m.image && !busy && !out && messages[i - 1]?.role === "user";
          return <MessageView m={m} key={m.key} onRegenerate={last ? () => void regenerate() : undefined}
            speaker={voice?.enabled ? speaker : undefined} />;
        })}
        <div ref={end} />
      </main>
      <form class="composer" onSubmit={(e) => { e.preventDefault(); void send(); }}>
        <ProblemView problem={problem} />
        {out && quota && (
          <p class="notice" role="status">
            You have used all {quota.limit} of today's requests. You can chat again at {resetTime(quota)}.
          </p>
        )}
        {imaging && images && (
          <p class="muted mode-note" id="image-note">
            Image mode: a picture costs {images.quota_cost} of today's requests and is not saved in the conversation.
          </p>
        )}
        {voiceWords(voicePhase) !== "" && <p class="muted voice-note" aria-hidden="true">{voiceWords(voicePhase)}</p>}
        <span class="visually-hidden" role="status" aria-live="polite">{voiceWords(voicePhase)}</span>
        <label for="prompt" class="visually-hidden">{imaging ? "Describe the picture" : "Message"}</label>
        <textarea id="prompt" ref={box} rows={2} value={prompt} disabled={out}
          placeholder={out ? "Out of requests until the reset" : imaging ? "Describe the picture" : "Message genzai"}
          aria-describedby={imaging ? "image-note" : undefined}
          onInput={(e) => setPrompt(e.currentTarget.value)} onKeyDown={onKeyDown} />
        <div class="actions">
          <label class="search-toggle">
            <input type="checkbox" checked={webSearch && !imaging} disabled={out || imaging} onChange={(e) => setWebSearch(e.currentTarget.checked)} />
            Search the web
          </label>
          {(images?.enabled || voice?.enabled && canRecord()) && (
            <div class="tools">
              {images?.enabled && (
                <button type="button" class="small image-mode" aria-pressed={imaging} onClick={() => setImageMode((on) => !on)}>Image</button>
              )}
              {voice?.enabled && canRecord() && (
                <Microphone maxBytes={voice.max_audio_bytes} disabled={out} onText={insert} onPhase={setVoicePhase}
                  onProblem={(p) => setProblem(explain(p, { kind: "voice", quota }))} onDone={() => void loadQuota()} />
              )}
            </div>
          )}
          {busy
            ? <button type="button" onClick={() => abort.current?.abort()}>Stop</button>
            : <button type="submit" disabled={out || prompt.trim() === ""}>{imaging ? "Create image" : "Send"}</button>}
        </div>
      </form>
    </div>
    </div>
  );
}

// Turn is what one answer's stream told of its conversation: whether the
// prompt started one (startsNew), the id the server gave it (created), and
// whether any token came (delivered).
interface Turn {
  startsNew: boolean;
  created: string | null;
  delivered: boolean;
}

// Meta is the stream's first event: what the answer is and where from.
interface Meta {
  request_id: string;
  conversation_id?: string;
  cached?: boolean;
  sources?: Source[];
  web_search?: "used" | "no_results" | "unavailable" | "disabled";
}

// searchNote words a web search that gave the answer no sources.
function searchNote(outcome: Meta["web_search"]): string | undefined {
  switch (outcome) {
    case "no_results":
      return "The web search found nothing: answered without sources.";
    case "unavailable":
      return "Web search is unavailable right now: answered without sources. Try again later.";
    case "disabled":
      return "Web search is turned off on this server: answered without sources.";
    default:
      return undefined;
  }
}

// stored is a message as the thread shows it.
function stored(m: ConversationMessage): Message {
  const out: Message = { key: `m-${m.id}`, role: m.role, content: m.content };
  if (m.request_id) out.requestId = m.request_id;
  if (m.model) out.tier = m.model;
  if (m.sources?.length) out.sources = m.sources;
  if (m.status === "interrupted") out.problem = { message: "This answer was cut short.", code: "interrupted", requestId: m.request_id ?? "" };
  return out;
}

function MessageView({ m, onRegenerate, speaker }: {
  m: Message;
  onRegenerate?: (() => void) | undefined;
  // speaker: reads answers aloud (when the server has voice on).
  speaker?: Speaker | undefined;
}) {
  const rate = m.requestId !== undefined && m.content !== "" && !m.image;
  const speak = speaker !== undefined && m.role === "assistant" && !m.image && !m.streaming && m.content !== "";
  return (
    <article class={`msg ${m.role}${m.image ? " image" : ""}`} aria-label={m.role === "user" ? "You" : "genzai"}>
      {m.role === "user"
        ? <p class="text">{m.image && <span class="muted">Image: </span>}{m.content}</p>
        : !m.image && <CodeBlocks html={renderMarkdown(m.content)} />}
      {m.pictures && <Pictures pictures={m.pictures} />}
      {m.streaming && m.image && <Drawing />}
      {m.streaming && !m.image && m.content === "" && <p class="muted">…</p>}
      {m.sources && m.sources.length > 0 && <Sources sources={m.sources} />}
      {m.searchNote && <p class="muted search-note">{m.searchNote}</p>}
      {m.cached && <p class="muted cached">Served from cache</p>}
      {m.problem && <ProblemView problem={m.problem} />}
      {m.role === "assistant" && !m.streaming && (rate || speak || onRegenerate) && (
        <div class="answer-actions">
          {rate && m.requestId && <Feedback requestId={m.requestId} />}
          {speak && (
            <button type="button" class="small speak" aria-pressed={speaker.speaking === m.key}
              onClick={() => speaker.toggle(m.key, m.content)}>Read aloud</button>
          )}
          {onRegenerate && <button type="button" class="small regenerate" onClick={onRegenerate}>Regenerate</button>}
        </div>
      )}
      {speaker?.problem?.key === m.key && <ProblemView problem={speaker.problem.problem} />}
    </article>
  );
}

// Sources lists the web pages an answer was given, in citation order:
// [1] is the first. Titles are text (Preact escapes them); links open
// apart from the app and tell the page nothing of it.
function Sources({ sources }: { sources: Source[] }) {
  return (
    <section class="sources" aria-label="Sources">
      <h2>Sources</h2>
      <ol>
        {sources.map((s, i) => {
          const href = safeURL(s.url);
          return (
            <li key={i}>
              {href ? <a href={href} target="_blank" rel="noopener noreferrer">{s.title || s.url}</a> : s.title || s.url}
            </li>
          );
        })}
      </ol>
    </section>
  );
}

// safeURL keeps http(s) links only: a javascript: URL from a page's
// markup must not become a link.
function safeURL(u: string): string | undefined {
  try {
    const p = new URL(u);
    return p.protocol === "https:" || p.protocol === "http:" ? p.href : undefined;
  } catch {
    return undefined;
  }
}

function QuotaView({ quota }: { quota: Quota | null }) {
  if (!quota) return null;
  return (
    <span class="quota" title={`Resets at ${resetTime(quota)}`}>
      <span class="visually-hidden">Quota: </span>{quota.used} / {quota.limit} today
    </span>
  );
}

// outOfQuota reports whether today's requests are used up (until the reset).
function outOfQuota(q: Quota | null, now: number): boolean {
  return q !== null && q.used >= q.limit && now < Date.parse(q.resets_at);
}
