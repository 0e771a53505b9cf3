import { useEffect, useState } from "preact/hooks";
import { api, problemOf, type Problem } from "./api/client";
import type { components } from "./api/schema";
import { ProblemView } from "./problem";

type Health = components["schemas"]["ProviderHealth"];
type Window = Health["window"];

const WINDOWS: { id: Window; name: string }[] = [
  { id: "1h", name: "1 hour" },
  { id: "24h", name: "24 hours" },
  { id: "7d", name: "7 days" },
  { id: "30d", name: "30 days" },
];

// Each state in words, with a symbol beside the colour so that it does not
// rest on colour alone.
const STATES: Record<Health["status"], { words: string; mark: string }> = {
  up: { words: "Operational", mark: "✓" },
  degraded: { words: "Degraded", mark: "!" },
  down: { words: "Down", mark: "✕" },
  unconfigured: { words: "Not configured", mark: "–" },
  unknown: { words: "Not checked yet", mark: "?" },
};

const NAMES: Record<string, string> = { groq: "Groq", openrouter: "OpenRouter", huggingface: "Hugging Face" };

// What a provider serves, in words.
const SERVES: Record<Health["serves"][number], string> = {
  chat: "chat",
  image: "images",
  transcription: "transcription",
  speech: "speech",
};

/** REFRESH_MS is how often the page asks again (the server caches its answer for 30 s). */
const REFRESH_MS = 30_000;

/** Status is the public status page: each provider's state, uptime, latency and error rate, refreshed every 30 s. */
export function Status({ signedIn }: { signedIn: boolean }) {
  const [win, setWin] = useState<Window>("24h");
  const [list, setList] = useState<Health[] | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);

  useEffect(() => {
    let live = true;
    const load = () =>
      api.GET("/api/v1/status", { params: { query: { window: win } } })
        .catch((e: unknown) => ({ error: e, data: undefined, response: undefined }))
        .then((r) => {
          if (!live) return;
          if (r.data) {
            setList(r.data);
            setProblem(null);
          } else setProblem(problemOf(r.error, r.response));
        });
    void load();
    const timer = window.setInterval(() => void load(), REFRESH_MS);
    return () => {
      live = false;
      window.clearInterval(timer);
    };
  }, [win]);

  return (
    <div class="status-page">
      <header>
        <a href="#/">{signedIn ? "Back to chat" : "Sign in"}</a>
        <h1>Service status</h1>
      </header>
      <main>
        <fieldset class="period">
          <legend>Uptime over</legend>
          {WINDOWS.map((w) => (
            <label key={w.id}>
              <input type="radio" name="window" value={w.id} checked={win === w.id} onChange={() => setWin(w.id)} />
              {w.name}
            </label>
          ))}
        </fieldset>
        <ProblemView problem={problem} />
        {list === null ? (problem ? null : <p class="muted">Loading…</p>) : (
          <ul class="providers" aria-live="polite">
            {list.map((h) => <Provider key={h.provider} h={h} />)}
          </ul>
        )}
        <p class="muted">Checked every few minutes; this page refreshes itself every 30 seconds.</p>
      </main>
    </div>
  );
}

function Provider({ h }: { h: Health }) {
  const s = STATES[h.status];
  const name = NAMES[h.provider] ?? h.provider;
  return (
    <li class={`provider s-${h.status}`}>
      <h2>{name}</h2>
      <p class="state"><span class="mark" aria-hidden="true">{s.mark}</span> {s.words}</p>
      <dl>
        <div><dt>Uptime</dt><dd>{h.uptime === null ? "no probes yet" : `${h.uptime.toFixed(2)}%`}</dd></div>
        <div><dt>Last probe latency</dt><dd>{h.latency_ms === null ? "–" : `${h.latency_ms.toLocaleString()} ms`}</dd></div>
        <div>
          <dt>Last checked</dt>
          <dd>{h.last_checked === null ? "never" : <time dateTime={h.last_checked}>{new Date(h.last_checked).toLocaleString()}</time>}</dd>
        </div>
        <div><dt>Errors in chats (5 min)</dt><dd>{`${(Math.round(h.error_rate * 1000) / 10).toLocaleString()}%`}</dd></div>
        <div><dt>Serves</dt><dd>{h.serves.length === 0 ? "nothing (not configured)" : h.serves.map((k) => SERVES[k] ?? k).join(", ")}</dd></div>
      </dl>
    </li>
  );
}
