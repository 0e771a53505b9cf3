import { useEffect, useRef, useState } from "preact/hooks";
import { api, problemOf, type Problem } from "../api/client";
import type { components } from "../api/schema";
import { ProblemView } from "../problem";

type Entry = components["schemas"]["RequestLogEntry"];
type Provider = components["schemas"]["Provider"];
type Outcome = components["schemas"]["RequestOutcome"];

const PROVIDERS: Provider[] = ["groq", "openrouter", "huggingface", "mock"];
const OUTCOMES: Outcome[] = ["success", "error", "cancelled", "invalid", "quota_exceeded", "interrupted"];

interface Filters {
  user: string; // an account's id ("" for everyone's)
  provider: Provider | "";
  outcome: Outcome | "";
}

/**
 * Requests is the request log, newest first, a page at a time, filtered by
 * user (from the address, #/admin/requests/<user id>, or the field: an id
 * or an exact email), provider and outcome; a row opens its detail with
 * the providers tried before the answer.
 */
export function Requests({ userID }: { userID?: string | undefined }) {
  const [userField, setUserField] = useState(userID ?? "");
  const [filters, setFilters] = useState<Filters>({ user: userID ?? "", provider: "", outcome: "" });
  const [rows, setRows] = useState<Entry[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [loading, setLoading] = useState(true);
  const [problem, setProblem] = useState<Problem | null>(null);
  const seq = useRef(0);

  // Following a link to another user's requests changes the filter.
  useEffect(() => {
    setUserField(userID ?? "");
    setFilters((f) => (f.user === (userID ?? "") ? f : { ...f, user: userID ?? "" }));
  }, [userID]);

  async function load(f: Filters, cursor?: string) {
    const mine = ++seq.current;
    setLoading(true);
    setProblem(null);
    const query = {
      ...(f.user ? { user_id: f.user } : {}),
      ...(f.provider ? { provider: f.provider } : {}),
      ...(f.outcome ? { outcome: f.outcome } : {}),
      ...(cursor ? { cursor } : {}),
    };
    const r = await api.GET("/api/v1/admin/requests", { params: { query } })
      .catch((e: unknown) => ({ error: e, data: undefined, response: undefined }));
    if (mine !== seq.current) return;
    setLoading(false);
    if (!r.data) {
      setProblem(problemOf(r.error, r.response));
      return;
    }
    const page = r.data;
    setRows((old) => (cursor ? [...old, ...page.requests] : page.requests));
    setNext(page.next_cursor);
  }

  useEffect(() => {
    setOpen(null);
    void load(filters);
  }, [filters]);

  // applyUser takes the field: an email is looked up among the accounts.
  async function applyUser() {
    const v = userField.trim();
    if (!v.includes("@")) {
      setFilters((f) => ({ ...f, user: v }));
      return;
    }
    setProblem(null);
    const r = await api.GET("/api/v1/admin/users", { params: { query: { query: v, limit: 200 } } })
      .catch((e: unknown) => ({ error: e, data: undefined, response: undefined }));
    if (!r.data) {
      setProblem(problemOf(r.error, r.response));
      return;
    }
    const u = r.data.users.find((x) => x.email.toLowerCase() === v.toLowerCase());
    if (!u) {
      setProblem({ message: `No account with the email ${v}.`, code: "not_found", requestId: "" });
      return;
    }
    setFilters((f) => ({ ...f, user: u.id }));
  }

  return (
    <section aria-labelledby="requests-h">
      <h2 id="requests-h">Requests</h2>
      <form class="filters" onSubmit={(e) => { e.preventDefault(); void applyUser(); }}>
        <span class="field">
          <label for="req-user">User (id or email)</label>
          <input id="req-user" value={userField} maxLength={254} placeholder="everyone"
            onInput={(e) => setUserField(e.currentTarget.value)} />
        </span>
        <span class="field">
          <label for="req-provider">Provider</label>
          <select id="req-provider" value={filters.provider}
            onChange={(e) => setFilters((f) => ({ ...f, provider: e.currentTarget.value as Provider | "" }))}>
            <option value="">any</option>
            {PROVIDERS.map((p) => <option key={p} value={p}>{p}</option>)}
          </select>
        </span>
        <span class="field">
          <label for="req-outcome">Outcome</label>
          <select id="req-outcome" value={filters.outcome}
            onChange={(e) => setFilters((f) => ({ ...f, outcome: e.currentTarget.value as Outcome | "" }))}>
            <option value="">any</option>
            {OUTCOMES.map((o) => <option key={o} value={o}>{o.replace("_", " ")}</option>)}
          </select>
        </span>
        <button type="submit">Show</button>
      </form>
      <ProblemView problem={problem} />
      <p class="muted">Newest first. Requests are written in batches: the last second may not be listed yet.</p>
      {rows.length === 0
        ? <p class="muted">{loading ? "Loading…" : "No requests."}</p>
        : (
          <div class="scroll" role="region" aria-label="Request log" tabIndex={0}>
            <table class="data requests">
              <thead>
                <tr><th>Time</th><th>User</th><th>Tier</th><th>Provider</th><th>Outcome</th><th>Latency</th><th>Detail</th></tr>
              </thead>
              <tbody>
                {rows.map((r) => <Row key={r.id} r={r} open={open === r.id} toggle={() => setOpen(open === r.id ? null : r.id)} />)}
              </tbody>
            </table>
          </div>
        )}
      {next && <button type="button" class="more" disabled={loading} onClick={() => void load(filters, next)}>More</button>}
    </section>
  );
}

function Row({ r, open, toggle }: { r: Entry; open: boolean; toggle: () => void }) {
  const detail = `request-${r.id}`;
  return (
    <>
      <tr class={open ? "open" : undefined}>
        <td>{when(r.created_at)}</td>
        <td>{r.user_id ? <a href={`#/admin/requests/${r.user_id}`} title={r.user_id}>{r.user_id.slice(0, 8)}</a> : <span class="muted">deleted</span>}</td>
        <td>{r.tier}</td>
        <td>{r.provider ?? "none"}</td>
        <td class={r.outcome === "success" ? undefined : "bad"}>{r.outcome.replace("_", " ")}{r.error_code ? ` (${r.error_code})` : ""}</td>
        <td>{r.latency_ms} ms</td>
        <td>
          <button type="button" class="small" aria-expanded={open} aria-controls={detail}
            aria-label={`${open ? "Hide" : "Details"} (the request at ${when(r.created_at)})`} onClick={toggle}>{open ? "Hide" : "Details"}</button>
        </td>
      </tr>
      {open && (
        <tr class="detail" id={detail}>
          <td colSpan={7}><Detail r={r} /></td>
        </tr>
      )}
    </>
  );
}

function Detail({ r }: { r: Entry }) {
  return (
    <div>
      <dl>
        <dt>Request id</dt><dd><code class="reqid-value">{r.request_id ?? "none"}</code></dd>
        <dt>User</dt><dd>{r.user_id ?? "deleted account"}</dd>
        <dt>API</dt><dd>{r.api === "openai" ? "OpenAI (/v1)" : "native (/api/v1)"}, {r.stream ? "streamed" : "one answer"}</dd>
        <dt>Model</dt><dd>{r.upstream_model ?? "none"}{r.key_index !== null ? ` (key ${r.key_index})` : ""}</dd>
        <dt>Latency</dt><dd>{r.latency_ms} ms</dd>
        <dt>First token</dt><dd>{r.ttft_ms !== null ? `${r.ttft_ms} ms` : "none came"}</dd>
        <dt>Tokens</dt><dd>{r.prompt_tokens} in, {r.completion_tokens} out</dd>
        <dt>Cache</dt><dd>{r.cache ?? "off"}</dd>
      </dl>
      <h3>Attempts</h3>
      {r.attempts.length === 0
        ? <p class="muted">{r.provider ? `${r.provider} answered at the first try.` : "No provider was tried."}</p>
        : (
          <ol class="attempts">
            {r.attempts.map((a, i) => <li key={i}>{a.provider}: {a.reason.replace(/_/g, " ")}</li>)}
            {r.provider && <li>{r.provider}: answered</li>}
          </ol>
        )}
    </div>
  );
}

// when is a time in the user's locale, date and time to the second.
function when(iso: string): string {
  return new Date(iso).toLocaleString([], { dateStyle: "short", timeStyle: "medium" });
}
