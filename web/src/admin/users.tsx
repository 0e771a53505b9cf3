import { useEffect, useRef, useState } from "preact/hooks";
import { api, problemOf, type Problem } from "../api/client";
import type { components } from "../api/schema";
import { ProblemView } from "../problem";

type AdminUser = components["schemas"]["AdminUser"];
type AdminUserPatch = components["schemas"]["AdminUserPatch"];

// searchDelay is how long the search waits for the typing to stop.
const searchDelay = 300;

/**
 * Users lists the accounts by email, a page at a time, with today's use:
 * search, set or reset a quota, disable or enable, make or remove an admin.
 * A change that needs a second admin (disabling or demoting an admin,
 * making one) is said to wait for that confirmation.
 */
export function Users() {
  const [query, setQuery] = useState("");
  const [users, setUsers] = useState<AdminUser[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [notice, setNotice] = useState("");
  // seq drops the answers of searches overtaken by a newer one.
  const seq = useRef(0);

  async function load(q: string, cursor?: string) {
    const mine = ++seq.current;
    setLoading(true);
    setProblem(null);
    const r = await api.GET("/api/v1/admin/users", {
      params: { query: { ...(q ? { query: q } : {}), ...(cursor ? { cursor } : {}) } },
    }).catch((e: unknown) => ({ error: e, data: undefined, response: undefined }));
    if (mine !== seq.current) return;
    setLoading(false);
    if (!r.data) {
      setProblem(problemOf(r.error, r.response));
      return;
    }
    const page = r.data;
    setUsers((old) => (cursor ? [...old, ...page.users] : page.users));
    setNext(page.next_cursor);
  }

  useEffect(() => {
    const t = setTimeout(() => void load(query.trim()), query ? searchDelay : 0);
    return () => clearTimeout(t);
  }, [query]);

  async function change(u: AdminUser, patch: AdminUserPatch, done: string) {
    setProblem(null);
    setNotice("");
    const r = await api.PATCH("/api/v1/admin/users/{id}", { params: { path: { id: u.id } }, body: patch })
      .catch((e: unknown) => ({ error: e, data: undefined, response: undefined }));
    if (!r.data) {
      setProblem(problemOf(r.error, r.response));
      return;
    }
    // 202 answers a pending change (the spec's PendingChange), 200 the account.
    const d = r.data;
    if ("expires_at" in d) {
      setNotice(`${u.email}: this change waits for another admin's confirmation (until ${when(d.expires_at)}); nothing changed yet.`);
      return;
    }
    const after = d;
    setUsers((old) => old.map((x) => (x.id === after.id ? after : x)));
    setNotice(`${after.email}: ${done}.`);
  }

  return (
    <section aria-labelledby="users-h">
      <h2 id="users-h">Users</h2>
      <form class="filters" role="search" onSubmit={(e) => { e.preventDefault(); void load(query.trim()); }}>
        <label for="user-search">Search by email</label>
        <input id="user-search" type="search" value={query} maxLength={254} placeholder="example.com"
          onInput={(e) => setQuery(e.currentTarget.value)} />
      </form>
      <p class="muted notice" role="status">{notice}</p>
      <ProblemView problem={problem} />
      {users.length === 0
        ? <p class="muted">{loading ? "Loading…" : "No accounts match."}</p>
        : (
          <div class="scroll" role="region" aria-label="Accounts" tabIndex={0}>
            <table class="data users">
              <thead>
                <tr><th>Email</th><th>Today</th><th>Daily quota</th><th>Admin</th><th>Disabled</th><th>Actions</th></tr>
              </thead>
              <tbody>
                {users.map((u) => <UserRow key={u.id} user={u} change={change} />)}
              </tbody>
            </table>
          </div>
        )}
      {next && <button type="button" class="more" disabled={loading} onClick={() => void load(query.trim(), next)}>More</button>}
    </section>
  );
}

function UserRow({ user: u, change }: { user: AdminUser; change: (u: AdminUser, p: AdminUserPatch, done: string) => Promise<void> }) {
  const [quota, setQuota] = useState(String(u.effective_quota));
  useEffect(() => setQuota(String(u.effective_quota)), [u.effective_quota]);
  const id = `quota-${u.id}`;
  const valid = /^\d+$/.test(quota.trim());
  return (
    <tr>
      <td class="email">{u.email}</td>
      <td>{u.used_today} / {u.effective_quota}</td>
      <td>
        <form class="quota-form" onSubmit={(e) => {
          e.preventDefault();
          if (valid) void change(u, { daily_quota: Number(quota.trim()) }, `daily quota set to ${quota.trim()}`);
        }}>
          <label for={id} class="visually-hidden">Daily quota of {u.email}</label>
          <input id={id} type="number" min={0} inputMode="numeric" value={quota} onInput={(e) => setQuota(e.currentTarget.value)} />
          <button type="submit" class="small" disabled={!valid} aria-label={`Set the daily quota of ${u.email}`}>Set</button>
          <button type="button" class="small" disabled={u.daily_quota === null} aria-label={`Default quota for ${u.email}`}
            onClick={() => void change(u, { daily_quota: null }, "daily quota back to the default")}>Default</button>
        </form>
        <span class="muted">{u.daily_quota === null ? "default" : "own limit"}</span>
      </td>
      <td>{u.is_admin ? "yes" : "no"}</td>
      <td>{u.disabled ? "yes" : "no"}</td>
      <td class="actions">
        <button type="button" class="small" aria-label={`${u.disabled ? "Enable" : "Disable"} ${u.email}`}
          onClick={() => void change(u, { disabled: !u.disabled }, u.disabled ? "enabled" : "disabled")}>{u.disabled ? "Enable" : "Disable"}</button>
        <button type="button" class="small" aria-label={`${u.is_admin ? "Remove admin from" : "Make admin"} ${u.email}`}
          onClick={() => void change(u, { is_admin: !u.is_admin }, u.is_admin ? "no longer an admin" : "now an admin")}>{u.is_admin ? "Remove admin" : "Make admin"}</button>
        <a href={`#/admin/requests/${u.id}`} aria-label={`Requests of ${u.email}`}>Requests</a>
      </td>
    </tr>
  );
}

// when is a time in the user's locale, date and time.
function when(iso: string): string {
  return new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}
