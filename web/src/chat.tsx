import { useEffect, useRef, useState } from "preact/hooks";
import { api, problemOf, type ConversationMessage, type ModelInfo, type Problem, type Quota, type Tier } from "./api/client";
import { readEvents } from "./sse";
import { renderMarkdown } from "./markdown";
import { session } from "./session";
import { ProblemView } from "./problem";
import { Sidebar } from "./sidebar";
import { Feedback } from "./feedback";
import { useMe } from "./me";
import { CodeBlocks } from "./codeblocks";

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
  // earlier continues a stored thread toward its earlier messages (null:
  // none left, or a new chat).
  const [earlier, setEarlier] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const [sidebarOpen, setSidebarOpen] = useState(false);
  // listChanged tells the sidebar to read the list again.
  const [listChanged, setListChanged] = useState(0);
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

  async function loadQuota() {
    const r = await api.GET("/api/v1/quota").catch((e: unknown) => ({ error: e, data: undefined, response: undefined }));
    if (r.data) setQuota(r.data);
  }
  useEffect(() => {
    api.GET("/api/v1/models").then((r) => {
      if (r.data) setModels(r.data.models);
      else setProblem(problemOf(r.error, r.response));
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
      if (e.key === "Escape" && abort.current) abort.current.abort();
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
    setMessages((ms) => [...ms, { key: fresh(), role: "user", content: text }, { key: fresh(), role: "assistant", content: "", streaming: true, tier }]);
    await run(text, tier, false);
  }

  // regenerate asks the last prompt again, on the tier that answered it.
  // A stored answer is replaced in the conversation ("regenerate": the
  // prompt is not stored twice), also when the regeneration shown in its
  // place brought nothing (the stored one is still there); an answer that
  // never began stored nothing, so its prompt is simply sent again.
  async function regenerate() {
    const last = messages[messages.length - 1];
    const asked = messages[messages.length - 2];
    if (abort.current || out || last?.role !== "assistant" || asked?.role !== "user") return;
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
    try {
      await stream(text, t, replace, ctrl.signal);
    } catch (err) {
      update((m) => ({ ...m, problem: explain(problemOf(err), quota) }));
    } finally {
      abort.current = null;
      update((m) => ({ ...m, streaming: false }));
      rerender((n) => n + 1);
      setListChanged((n) => n + 1);
      void loadQuota();
    }
  }

  async function stream(text: string, t: Tier, replace: boolean, signal: AbortSignal) {
    const r = await api.POST("/api/v1/chat", {
      body: { prompt: text, model: t, stream: true, web_search: webSearch, cache: true, conversation_id: conversation ?? "new", regenerate: replace },
      headers: { Accept: "text/event-stream" },
      parseAs: "stream",
      signal,
    });
    // parseAs "stream" leaves the body unread: the events come from it.
    const body = r.response.body;
    if (r.error || !r.response.ok || !body) {
      update((m) => ({ ...m, problem: explain(problemOf(r.error, r.response), quota) }));
      return;
    }
    for await (const ev of readEvents(body)) {
      if (ev.event === "message") {
        const token = JSON.parse(ev.data) as string;
        update((m) => ({ ...m, content: m.content + token }));
      } else if (ev.event === "meta") {
        const meta = JSON.parse(ev.data) as Meta;
        if (meta.conversation_id) setConversation(meta.conversation_id);
        update((m) => ({
          ...m, requestId: meta.request_id, cached: meta.cached === true,
          sources: meta.sources ?? [], searchNote: searchNote(meta.web_search),
        }));
      } else if (ev.event === "error") {
        const e = JSON.parse(ev.data) as { error: string; code: string };
        update((m) => ({ ...m, problem: explain({ message: e.error, code: e.code, requestId: m.requestId ?? "" }, quota) }));
      }
    }
  }

  // select continues a stored conversation (its messages loaded) or, with
  // null, starts a new one at the next prompt.
  async function select(id: string | null) {
    abort.current?.abort();
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
    <Sidebar current={conversation} open={sidebarOpen} refresh={listChanged} onSelect={(id) => void select(id)} />
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
          const last = i === messages.length - 1 && m.role === "assistant" && !busy && !out && messages[i - 1]?.role === "user";
          return <MessageView m={m} key={m.key} onRegenerate={last ? () => void regenerate() : undefined} />;
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
        <label for="prompt" class="visually-hidden">Message</label>
        <textarea id="prompt" rows={2} placeholder={out ? "Out of requests until the reset" : "Message genzai"} value={prompt}
          disabled={out} onInput={(e) => setPrompt(e.currentTarget.value)} onKeyDown={onKeyDown} />
        <div class="actions">
          <label class="search-toggle">
            <input type="checkbox" checked={webSearch} disabled={out} onChange={(e) => setWebSearch(e.currentTarget.checked)} />
            Search the web
          </label>
          {busy
            ? <button type="button" onClick={() => abort.current?.abort()}>Stop</button>
            : <button type="submit" disabled={out || prompt.trim() === ""}>Send</button>}
        </div>
      </form>
    </div>
    </div>
  );
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

function MessageView({ m, onRegenerate }: { m: Message; onRegenerate?: (() => void) | undefined }) {
  return (
    <article class={`msg ${m.role}`} aria-label={m.role === "user" ? "You" : "genzai"}>
      {m.role === "user"
        ? <p class="text">{m.content}</p>
        : <CodeBlocks html={renderMarkdown(m.content)} />}
      {m.streaming && m.content === "" && <p class="muted">…</p>}
      {m.sources && m.sources.length > 0 && <Sources sources={m.sources} />}
      {m.searchNote && <p class="muted search-note">{m.searchNote}</p>}
      {m.cached && <p class="muted cached">Served from cache</p>}
      {m.problem && <ProblemView problem={m.problem} />}
      {m.role === "assistant" && !m.streaming && (m.requestId && m.content !== "" || onRegenerate) && (
        <div class="answer-actions">
          {m.requestId && m.content !== "" && <Feedback requestId={m.requestId} />}
          {onRegenerate && <button type="button" class="small regenerate" onClick={onRegenerate}>Regenerate</button>}
        </div>
      )}
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

// resetTime is when the quota resets, in the user's local time (with the
// day when that is not today).
function resetTime(q: Quota): string {
  const at = new Date(q.resets_at);
  const time = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return at.toDateString() === new Date().toDateString()
    ? time
    : `${at.toLocaleDateString([], { weekday: "long" })} ${time}`;
}

// outOfQuota reports whether today's requests are used up (until the reset).
function outOfQuota(q: Quota | null, now: number): boolean {
  return q !== null && q.used >= q.limit && now < Date.parse(q.resets_at);
}

// explain words the errors a user can act on.
function explain(p: Problem, q: Quota | null): Problem {
  switch (p.code) {
    case "quota_exceeded":
      return { ...p, message: `You have used today's requests. You can chat again at ${q ? resetTime(q) : "midnight UTC"}.` };
    case "email_unverified":
      return { ...p, message: "Confirm your email first: follow the link we mailed you." };
    case "conversation_busy":
      return { ...p, message: "This conversation is still answering: wait for it to finish, then send again." };
    case "rate_limited":
    case "provider_rate_limited":
      return { ...p, message: "Too many requests right now: wait a few seconds, then send again." };
    case "providers_unavailable":
    case "upstream_error":
    case "timeout":
      return { ...p, message: "No provider could answer this time: try again in a minute, or pick another tier." };
    case "stream_interrupted":
      return { ...p, message: "The answer was cut short by the provider: press Regenerate to ask again." };
    case "unavailable":
    case "shutting_down":
      return { ...p, message: "The server is busy or restarting: send again in a moment." };
    case "not_found":
      return { ...p, message: "This conversation no longer exists: start a new chat." };
    case "invalid_request":
      return { ...p, message: `The request was refused: ${p.message}. Change it and send again.` };
    default:
      return p;
  }
}
