import { useEffect, useState } from "preact/hooks";
import { api, problemOf, type APIKey, type APIKeyCreated, type Problem } from "./api/client";
import { ProblemView } from "./problem";
import { session } from "./session";

/** Settings is the account page: personal API keys, the export of one's data, and deleting the account. */
export function Settings({ email }: { email: string }) {
  return (
    <div class="settings">
      <header>
        <a href="#/">Back to chat</a>
        <h1>Settings</h1>
        <span class="who" title={email}>{email}</span>
      </header>
      <Keys />
      <Export />
      <DeleteAccount />
    </div>
  );
}

function Keys() {
  const [keys, setKeys] = useState<APIKey[]>([]);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<APIKeyCreated | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);

  async function load() {
    const r = await api.GET("/api/v1/keys").catch((e: unknown) => ({ error: e, data: undefined, response: undefined }));
    if (r.data) setKeys(r.data.keys);
    else setProblem(problemOf(r.error, r.response));
  }
  useEffect(() => void load(), []);

  async function create() {
    setProblem(null);
    const r = await api.POST("/api/v1/keys", { body: { name: name.trim() } })
      .catch((e: unknown) => ({ error: e, data: undefined, response: undefined }));
    if (!r.data) {
      setProblem(problemOf(r.error, r.response));
      return;
    }
    setCreated(r.data);
    setName("");
    void load();
  }

  async function revoke(k: APIKey) {
    if (!window.confirm(`Revoke the key "${k.name}" (${k.prefix}…)? What uses it stops working.`)) return;
    setProblem(null);
    const r = await api.DELETE("/api/v1/keys/{id}", { params: { path: { id: k.id } } })
      .catch((e: unknown) => ({ error: e, data: undefined, response: undefined }));
    if (r.error !== undefined) {
      setProblem(problemOf(r.error, r.response));
      return;
    }
    if (created?.id === k.id) setCreated(null);
    void load();
  }

  return (
    <section aria-labelledby="keys-h">
      <h2 id="keys-h">API keys</h2>
      <p class="muted">A key works as a bearer credential for chat, models, quota and feedback, here and at <code>/v1</code> (OpenAI's API).</p>
      <form class="row" onSubmit={(e) => { e.preventDefault(); void create(); }}>
        <label for="key-name">Key name</label>
        <input id="key-name" value={name} maxLength={100} placeholder="laptop" onInput={(e) => setName(e.currentTarget.value)} />
        <button type="submit" disabled={name.trim() === ""}>Create key</button>
      </form>
      {created && (
        <div class="created" role="status">
          <p>Your new key <strong>{created.name}</strong>, shown only this once: copy it now.</p>
          <label for="new-key" class="visually-hidden">The new key</label>
          <input id="new-key" class="secret" readOnly value={created.key} onFocus={(e) => e.currentTarget.select()} />
          <button type="button" onClick={() => void navigator.clipboard?.writeText(created.key)}>Copy</button>
          <button type="button" class="small" onClick={() => setCreated(null)}>Done</button>
        </div>
      )}
      <ProblemView problem={problem} />
      {keys.length === 0
        ? <p class="muted">No keys.</p>
        : (
          <table class="keys">
            <thead><tr><th>Name</th><th>Key</th><th>Created</th><th>Last used</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td><code>{k.prefix}…</code></td>
                  <td>{day(k.created_at)}</td>
                  <td>{k.last_used_at ? day(k.last_used_at) : "never"}</td>
                  <td><button type="button" class="small" aria-label={`Revoke ${k.name}`} onClick={() => void revoke(k)}>Revoke</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
    </section>
  );
}

function Export() {
  const [done, setDone] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);

  async function download() {
    setProblem(null);
    setDone(false);
    const r = await api.GET("/api/v1/me/export", { parseAs: "blob" })
      .catch((e: unknown) => ({ error: e, data: undefined, response: undefined }));
    if (!r.data) {
      setProblem(problemOf(r.error, r.response));
      return;
    }
    const url = URL.createObjectURL(r.data);
    const a = document.createElement("a");
    a.href = url;
    a.download = `genzai-export-${new Date().toISOString().slice(0, 10)}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    setDone(true);
  }

  return (
    <section aria-labelledby="export-h">
      <h2 id="export-h">Your data</h2>
      <p class="muted">One JSON file with your account, conversations, feedback and API keys (never the keys themselves).</p>
      <button type="button" onClick={() => void download()}>Export my data</button>
      {done && <p class="muted" role="status">Export downloaded.</p>}
      <ProblemView problem={problem} />
    </section>
  );
}

function DeleteAccount() {
  const [hasPassword, setHasPassword] = useState(true);
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  useEffect(() => {
    api.GET("/api/v1/me").then((r) => {
      if (r.data) setHasPassword(r.data.has_password);
    }, () => undefined);
  }, []);

  async function remove() {
    if (!window.confirm("Delete your account, with all its conversations, feedback and API keys? There is no undo.")) return;
    setProblem(null);
    const r = await api.DELETE("/api/v1/me", { body: hasPassword ? { password } : {} })
      .catch((e: unknown) => ({ error: e, data: undefined, response: undefined }));
    if (r.error !== undefined || !r.response?.ok) {
      const p = problemOf(r.error, r.response);
      setProblem(p.code === "unauthorized" ? { ...p, message: "That password is not right." } : p);
      return;
    }
    session.clear();
    location.hash = "";
  }

  return (
    <section aria-labelledby="delete-h">
      <h2 id="delete-h">Delete my account</h2>
      <p class="muted">Deletes your account with its conversations, feedback and API keys, everywhere, at once. There is no undo.</p>
      <form class="row" onSubmit={(e) => { e.preventDefault(); void remove(); }}>
        {hasPassword && <>
          <label for="delete-password">Password</label>
          <input id="delete-password" type="password" autocomplete="current-password" value={password}
            onInput={(e) => setPassword(e.currentTarget.value)} />
        </>}
        <button type="submit" class="danger" disabled={hasPassword && password === ""}>Delete my account</button>
      </form>
      <ProblemView problem={problem} />
    </section>
  );
}

// day is a date in the user's locale.
function day(iso: string): string {
  return new Date(iso).toLocaleDateString();
}
