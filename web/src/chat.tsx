import { useEffect, useRef, useState } from "preact/hooks";
import { api, problemOf, type ConversationMessage, type ModelInfo, type Problem, type Quota, type Tier } from "./api/client";
import { readEvents } from "./sse";
import { renderMarkdown } from "./markdown";
import { session } from "./session";
import { ProblemView } from "./problem";
import { Sidebar } from "./sidebar";
import { Feedback } from "./feedback";
import { useMe } from "./me";

interface Message {
  role: "user" | "assistant";
  content: string;
  requestId?: string;
  // cached: the answer was replayed from the response cache.
  cached?: boolean;
  streaming?: boolean;
  problem?: Problem;
}

/** Chat is the chat page: the thread, the prompt box, the tier and the quota. */
export function Chat({ email }: { email: string }) {
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [tier, setTier] = useState<Tier>("fast");
  const [quota, setQuota] = useState<Quota | null>(null);
  const [messages, setMessages] = useState<Message[]>([]);
  const [prompt, setPrompt] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [conversation, setConversation] = useState<string | null>(null);
  const [sidebarOpen, setSidebarOpen] = useState(false);
  // listChanged tells the sidebar to read the list again.
  const [listChanged, setListChanged] = useState(0);
  const abort = useRef<AbortController | null>(null);
  const busy = abort.current !== null;
  const [, rerender] = useState(0);
  const end = useRef<HTMLDivElement>(null);
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
  useEffect(() => end.current?.scrollIntoView({ block: "end" }), [messages]);
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
    if (!text || abort.current) return;
    const ctrl = new AbortController();
    abort.current = ctrl;
    setProblem(null);
    setPrompt("");
    setMessages((ms) => [...ms, { role: "user", content: text }, { role: "assistant", content: "", streaming: true }]);
    try {
      await stream(text, ctrl.signal);
    } catch (err) {
      update((m) => ({ ...m, problem: problemOf(err) }));
    } finally {
      abort.current = null;
      update((m) => ({ ...m, streaming: false }));
      rerender((n) => n + 1);
      setListChanged((n) => n + 1);
      void loadQuota();
    }
  }

  async function stream(text: string, signal: AbortSignal) {
    const r = await api.POST("/api/v1/chat", {
      body: { prompt: text, model: tier, stream: true, web_search: false, cache: true, conversation_id: conversation ?? "new" },
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
        const meta = JSON.parse(ev.data) as { request_id: string; conversation_id?: string; cached?: boolean };
        if (meta.conversation_id) setConversation(meta.conversation_id);
        update((m) => ({ ...m, requestId: meta.request_id, cached: meta.cached === true }));
      } else if (ev.event === "error") {
        const e = JSON.parse(ev.data) as { error: string; code: string };
        update((m) => ({ ...m, problem: { message: e.error, code: e.code, requestId: m.requestId ?? "" } }));
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
    if (!id) return;
    const r = await api.GET("/api/v1/conversations/{id}", { params: { path: { id }, query: { limit: 200 } } })
      .catch((e: unknown) => ({ error: e, data: undefined, response: undefined }));
    if (!r.data) {
      setProblem(problemOf(r.error, r.response));
      return;
    }
    setMessages(r.data.messages.map(stored));
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
        {messages.map((m, i) => <MessageView m={m} key={i} />)}
        <div ref={end} />
      </main>
      <form class="composer" onSubmit={(e) => { e.preventDefault(); void send(); }}>
        <ProblemView problem={problem} />
        <label for="prompt" class="visually-hidden">Message</label>
        <textarea id="prompt" rows={2} placeholder="Message genzai" value={prompt}
          onInput={(e) => setPrompt(e.currentTarget.value)} onKeyDown={onKeyDown} />
        {busy
          ? <button type="button" onClick={() => abort.current?.abort()}>Stop</button>
          : <button type="submit" disabled={prompt.trim() === ""}>Send</button>}
      </form>
    </div>
    </div>
  );
}

// stored is a message as the thread shows it.
function stored(m: ConversationMessage): Message {
  const out: Message = { role: m.role, content: m.content };
  if (m.request_id) out.requestId = m.request_id;
  if (m.status === "interrupted") out.problem = { message: "This answer was cut short.", code: "interrupted", requestId: m.request_id ?? "" };
  return out;
}

function MessageView({ m }: { m: Message }) {
  return (
    <article class={`msg ${m.role}`} aria-label={m.role === "user" ? "You" : "genzai"}>
      {m.role === "user"
        ? <p class="text">{m.content}</p>
        : <div class="md" dangerouslySetInnerHTML={{ __html: renderMarkdown(m.content) }} />}
      {m.streaming && m.content === "" && <p class="muted">…</p>}
      {m.cached && <p class="muted cached">Served from cache</p>}
      {m.problem && <ProblemView problem={m.problem} />}
      {m.role === "assistant" && !m.streaming && m.requestId && m.content !== "" && <Feedback requestId={m.requestId} />}
    </article>
  );
}

function QuotaView({ quota }: { quota: Quota | null }) {
  if (!quota) return null;
  return (
    <span class="quota" title={`Resets at ${resetTime(quota)}`}>
      <span class="visually-hidden">Quota: </span>{quota.used} / {quota.limit} today
    </span>
  );
}

// resetTime is when the quota resets, in the user's local time.
function resetTime(q: Quota): string {
  return new Date(q.resets_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
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
    default:
      return p;
  }
}
