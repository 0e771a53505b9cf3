import { useEffect, useState } from "preact/hooks";
import { api, problemOf, type Problem } from "../api/client";
import type { components } from "../api/schema";
import { ProblemView } from "../problem";

type ProviderState = components["schemas"]["ProviderState"];
type KeyState = components["schemas"]["ProviderKeyState"];

// refreshEvery is how often the page asks again while it is shown.
const refreshEvery = 10_000;

const BREAKER: Record<ProviderState["breaker"], string> = {
  closed: "closed (requests flow)",
  open: "open (skipped after repeated failures)",
  half_open: "half open (a trial request may pass)",
};

/**
 * Providers shows each configured provider's breaker, health and keys as
 * the router of the answering instance sees them, refreshed every 10 s
 * while shown. Keys go by their index: the API never returns a key.
 */
export function Providers() {
  const [providers, setProviders] = useState<ProviderState[] | null>(null);
  const [at, setAt] = useState<Date | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);

  useEffect(() => {
    let live = true;
    async function load() {
      const r = await api.GET("/api/v1/admin/providers").catch((e: unknown) => ({ error: e, data: undefined, response: undefined }));
      if (!live) return;
      if (!r.data) {
        setProblem(problemOf(r.error, r.response));
        return;
      }
      setProblem(null);
      setProviders(r.data.providers);
      setAt(new Date());
    }
    void load();
    const t = setInterval(() => void load(), refreshEvery);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, []);

  return (
    <section aria-labelledby="providers-h">
      <h2 id="providers-h">Providers</h2>
      <p class="muted">
        As this server's router sees them, refreshed every 10 seconds{at ? ` (last at ${at.toLocaleTimeString()})` : ""}. Keys are
        named by their place in the provider's list; the keys themselves are never shown.
      </p>
      <ProblemView problem={problem} />
      {providers === null
        ? <p class="muted">Loading…</p>
        : providers.length === 0
          ? <p class="muted">No provider is configured.</p>
          : providers.map((p) => <ProviderCard key={p.name} p={p} />)}
    </section>
  );
}

function ProviderCard({ p }: { p: ProviderState }) {
  const h = `provider-${p.name}`;
  return (
    <section class="provider" aria-labelledby={h}>
      <h3 id={h}>{p.name}</h3>
      <p>
        Breaker: <strong class={p.breaker === "closed" ? undefined : "bad"}>{BREAKER[p.breaker]}</strong>.{" "}
        Health: <strong class={p.down ? "bad" : undefined}>{p.down ? "down (skipped)" : "not reported down"}</strong>.
      </p>
      {p.keys.length === 0
        ? <p class="muted">No keys.</p>
        : (
          <div class="scroll" role="region" aria-label={`Keys of ${p.name}`} tabIndex={0}>
            <table class="data keys-state">
              <thead><tr><th>Key</th><th>Requests in the last minute</th><th>State</th></tr></thead>
              <tbody>
                {p.keys.map((k) => (
                  <tr key={k.index}>
                    <td>#{k.index}</td>
                    <td>{k.requests_last_minute}</td>
                    <td class={k.rejected || k.cooling_down ? "bad" : undefined}>{keyState(k)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
    </section>
  );
}

// keyState is a key's state in words.
function keyState(k: KeyState): string {
  const parts: string[] = [];
  if (k.rejected) parts.push("rejected by the provider" + until(k.rejected_until));
  if (k.cooling_down) parts.push("cooling down" + until(k.cooling_down_until));
  return parts.length === 0 ? "ready" : parts.join(", ");
}

// until is " until 10:31" in the user's local time, or "" without a time.
function until(iso: string | null): string {
  if (!iso) return "";
  return " until " + new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}
