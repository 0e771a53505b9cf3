import { useEffect, useRef, useState } from "preact/hooks";
import { api, problemOf, type Conversation, type Problem } from "./api/client";
import { ProblemView } from "./problem";

interface Props {
  current: string | null;
  // open: shown on a phone (on a wide screen the sidebar always is).
  open: boolean;
  // refresh changes when the list may have changed (an answer stored).
  refresh: number;
  // gone: conversations deleted meanwhile, never listed.
  gone: ReadonlySet<string>;
  onSelect: (id: string | null) => void;
}

// PAGE is how many conversations one read lists ("More conversations"
// reads the next ones).
const PAGE = 30;

/** Sidebar lists, searches, renames and deletes the user's conversations. */
export function Sidebar({ current, open, refresh, gone, onSelect }: Props) {
  const [list, setList] = useState<Conversation[]>([]);
  const [q, setQ] = useState("");
  const [renaming, setRenaming] = useState<string | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [reload, setReload] = useState(0);
  // next continues the list past its last page read (null: no more).
  const [next, setNext] = useState<string | null>(null);
  // listed names the search and reload the list was last read anew for:
  // while they stay, a refresh (an answer stored) merges the first page
  // into the pages "More conversations" loaded instead of dropping them.
  const listed = useRef<string | null>(null);

  useEffect(() => {
    const ctrl = new AbortController();
    const query = q.trim() === "" ? {} : { q: q.trim() };
    const basis = `${reload}\u0000${q.trim()}`;
    api.GET("/api/v1/conversations", { params: { query: { limit: PAGE, ...query } }, signal: ctrl.signal }).then((r) => {
      if (r.data) {
        const first = r.data.conversations;
        if (listed.current === basis) {
          // The first page leads (the conversation just answered moves to
          // the top); the rest loaded stays, in its order, and so does
          // the cursor past it.
          const seen = new Set(first.map((c) => c.id));
          setList((l) => [...first, ...l.filter((c) => !seen.has(c.id))]);
        } else {
          listed.current = basis;
          setList(first);
          setNext(r.data.next_cursor ?? null);
        }
        setProblem(null);
      } else setProblem(problemOf(r.error, r.response));
    }, (e: unknown) => {
      if (!ctrl.signal.aborted) setProblem(problemOf(e));
    });
    return () => ctrl.abort();
  }, [q, refresh, reload]);

  async function more() {
    if (!next) return;
    const query = q.trim() === "" ? {} : { q: q.trim() };
    const r = await api.GET("/api/v1/conversations", { params: { query: { limit: PAGE, cursor: next, ...query } } })
      .catch((e: unknown) => ({ error: e, data: undefined, response: undefined }));
    if (!r.data) {
      setProblem(problemOf(r.error, r.response));
      return;
    }
    const seen = new Set(list.map((c) => c.id));
    setList([...list, ...r.data.conversations.filter((c) => !seen.has(c.id))]);
    setNext(r.data.next_cursor ?? null);
  }

  async function rename(id: string, title: string) {
    const r = await api.PATCH("/api/v1/conversations/{id}", { params: { path: { id } }, body: { title } });
    if (r.error) {
      setProblem(problemOf(r.error, r.response));
      return;
    }
    setRenaming(null);
    setReload((n) => n + 1);
  }

  async function remove(c: Conversation) {
    if (!window.confirm(`Delete "${titleOf(c)}" and all its messages? There is no undo.`)) return;
    const r = await api.DELETE("/api/v1/conversations/{id}", { params: { path: { id: c.id } } });
    if (r.error) {
      setProblem(problemOf(r.error, r.response));
      return;
    }
    if (c.id === current) onSelect(null);
    setReload((n) => n + 1);
  }

  const shown = list.filter((c) => !gone.has(c.id));
  return (
    <nav id="sidebar" class={`sidebar${open ? " open" : ""}`} aria-label="Conversations">
      <button type="button" class="new" onClick={() => onSelect(null)}>New chat</button>
      <label for="search" class="visually-hidden">Search conversations</label>
      <input id="search" type="search" placeholder="Search conversations" value={q}
        onInput={(e) => setQ(e.currentTarget.value)} />
      <ProblemView problem={problem} />
      {shown.length === 0 && <p class="muted">{q.trim() ? "No conversation matches." : "No conversations yet."}</p>}
      <ul>
        {shown.map((c) => (
          <li key={c.id} class={c.id === current ? "current" : ""}>
            {renaming === c.id
              ? <RenameForm c={c} onSave={(t) => void rename(c.id, t)} onCancel={() => setRenaming(null)} />
              : <>
                <button type="button" class="title" aria-current={c.id === current ? "page" : undefined}
                  onClick={() => onSelect(c.id)}>{titleOf(c)}</button>
                <button type="button" class="small" aria-label={`Rename ${titleOf(c)}`} onClick={() => setRenaming(c.id)}>Rename</button>
                <button type="button" class="small" aria-label={`Delete ${titleOf(c)}`} onClick={() => void remove(c)}>Delete</button>
              </>}
          </li>
        ))}
      </ul>
      {next && <button type="button" class="more" onClick={() => void more()}>More conversations</button>}
    </nav>
  );
}

function RenameForm({ c, onSave, onCancel }: { c: Conversation; onSave: (title: string) => void; onCancel: () => void }) {
  const [title, setTitle] = useState(c.title ?? "");
  const id = `rename-${c.id}`;
  return (
    <form class="rename" onSubmit={(e) => { e.preventDefault(); if (title.trim()) onSave(title.trim()); }}
      onKeyDown={(e) => { if (e.key === "Escape") { e.stopPropagation(); onCancel(); } }}>
      <label for={id} class="visually-hidden">New title</label>
      <input id={id} value={title} maxLength={200} autoFocus onInput={(e) => setTitle(e.currentTarget.value)} />
      <button type="submit" class="small" disabled={title.trim() === ""}>Save</button>
      <button type="button" class="small" onClick={onCancel}>Cancel</button>
    </form>
  );
}

/** titleOf is a conversation's title, or words standing in for a missing one. */
export function titleOf(c: Conversation): string {
  return c.title ?? "Untitled conversation";
}
