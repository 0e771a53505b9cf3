import { useEffect, useState } from "preact/hooks";
import { api, problemOf, type Problem } from "../api/client";
import type { components } from "../api/schema";
import { ProblemView } from "../problem";
import { Measures, ms, percent, ShareBars, StackedBars, type Series, type Share } from "./charts";

type Report = components["schemas"]["Analytics"];
type Outcome = keyof components["schemas"]["OutcomeCounts"];
type Kind = components["schemas"]["RequestKind"];

const PERIODS = [1, 7, 30] as const;

// The outcomes in the order the chart stacks them, with words for each.
const OUTCOMES: { key: Outcome; name: string }[] = [
  { key: "success", name: "Answered" },
  { key: "cancelled", name: "Cancelled" },
  { key: "invalid", name: "Invalid" },
  { key: "quota_exceeded", name: "Over quota" },
  { key: "error", name: "Failed" },
  { key: "interrupted", name: "Interrupted" },
];

// Words for each kind of request.
const KINDS: Record<Kind, string> = {
  chat: "Chat",
  image: "Images",
  transcription: "Transcriptions",
  speech: "Speech",
};

/** Analytics: the request log's figures over 1, 7 or 30 days, in charts with their numbers. */
export function Analytics() {
  const [days, setDays] = useState<number>(7);
  const [report, setReport] = useState<Report | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);

  useEffect(() => {
    let live = true;
    setProblem(null);
    api.GET("/api/v1/admin/analytics", { params: { query: { days } } })
      .catch((e: unknown) => ({ error: e, data: undefined, response: undefined }))
      .then((r) => {
        if (!live) return;
        if (r.data) setReport(r.data);
        else setProblem(problemOf(r.error, r.response));
      });
    return () => {
      live = false;
    };
  }, [days]);

  return (
    <section aria-labelledby="analytics-h" class="analytics">
      <h2 id="analytics-h">Analytics</h2>
      <fieldset class="period">
        <legend>Period</legend>
        {PERIODS.map((d) => (
          <label key={d}>
            <input type="radio" name="period" value={d} checked={days === d} onChange={() => setDays(d)} />
            {d === 1 ? "Today" : `${d} days`}
          </label>
        ))}
      </fieldset>
      <ProblemView problem={problem} />
      {report === null ? (problem ? null : <p class="muted">Loading…</p>) : <Report r={report} />}
    </section>
  );
}

function Report({ r }: { r: Report }) {
  const labels = r.daily.map((d) => d.date);
  const today = r.daily[r.daily.length - 1];
  return (
    <>
      <p class="muted" aria-live="polite">
        {r.from === r.to ? `Today, ${r.to}` : `${r.from} to ${r.to}`} (UTC days): {r.totals.requests.toLocaleString()} requests from{" "}
        {r.totals.active_users.toLocaleString()} users.
      </p>
      <Tiles r={r} today={today} />
      <div class="charts">
        <StackedBars
          id="ch-outcomes"
          title="Requests per day by outcome"
          labels={labels}
          series={OUTCOMES.map((o) => ({ name: o.name, cls: `c-${o.key}`, values: r.daily.map((d) => d.outcomes[o.key]) }))}
        />
        <StackedBars
          id="ch-latency-daily"
          title="Latency of answered requests per day"
          labels={labels}
          grouped
          format={ms}
          series={(["p50", "p95", "p99"] as const).map((p) => ({
            name: p, cls: `c-${p}`, values: r.daily.map((d) => d.latency_ms[p]),
          }))}
          none="no answers"
          summary={(s) => `${pctOf(r.latency_ms[s.name as "p50" | "p95" | "p99"])} over the period`}
        />
        <Measures
          id="ch-latency"
          title="Latency of answered requests over the period"
          format={ms}
          rows={[
            { name: "p50", cls: "c-p50", value: r.latency_ms.p50 },
            { name: "p95", cls: "c-p95", value: r.latency_ms.p95 },
            { name: "p99", cls: "c-p99", value: r.latency_ms.p99 },
          ]}
        />
        <Measures
          id="ch-ttft"
          title="Time to first token over the period"
          format={ms}
          rows={[
            { name: "p50", cls: "c-p50", value: r.ttft_ms.p50 },
            { name: "p95", cls: "c-p95", value: r.ttft_ms.p95 },
            { name: "p99", cls: "c-p99", value: r.ttft_ms.p99 },
          ]}
        />
        <ShareBars
          id="ch-kind"
          title="Requests by kind"
          parts={r.by_kind.map((k) => ({ name: KINDS[k.kind] ?? k.kind, value: k.requests }))}
          cls="c-kind"
        />
        <ShareBars id="ch-provider" title="Share of requests by provider" parts={shares(r, (x) => x.provider ?? "no provider (cache, refused or failed)")} />
        <ShareBars id="ch-tier" title="Share of requests by tier" parts={shares(r, (x) => x.tier)} cls="c-tier" />
        <StackedBars
          id="ch-cache"
          title="Response cache hit ratio per day"
          labels={labels}
          max={1}
          format={percent}
          series={[{ name: "Hit ratio", cls: "c-cache", values: r.daily.map((d) => d.cache_hit_ratio) }]}
          none="not asked"
          summary={() => today?.cache_hit_ratio == null ? "not asked today" : `${percent(today.cache_hit_ratio)} today`}
        />
        <StackedBars
          id="ch-saved"
          title="Provider calls saved by the cache"
          labels={labels}
          series={[{ name: "Calls saved", cls: "c-saved", values: r.daily.map((d) => d.provider_calls_saved) }]}
        />
        <StackedBars
          id="ch-conversations"
          title="Conversations started per day"
          labels={labels}
          series={conversationSeries(r, labels)}
        />
        <Feedback r={r} />
        <TopUsers r={r} />
      </div>
    </>
  );
}

// Tiles: the period's figures in words, and today's cache hit ratio.
function Tiles({ r, today }: { r: Report; today: Report["daily"][number] | undefined }) {
  const t = r.totals;
  return (
    <dl class="tiles">
      <div><dt>Requests</dt><dd>{t.requests.toLocaleString()}</dd></div>
      <div><dt>Active users</dt><dd>{t.active_users.toLocaleString()}</dd></div>
      <div><dt>Refused (4xx)</dt><dd>{t.errors_4xx.toLocaleString()} ({percent(t.error_rate_4xx)})</dd></div>
      <div><dt>Failed (5xx)</dt><dd>{t.errors_5xx.toLocaleString()} ({percent(t.error_rate_5xx)})</dd></div>
      <div>
        <dt>Cache hit ratio today</dt>
        <dd>{today?.cache_hit_ratio == null ? "not asked" : percent(today.cache_hit_ratio)}</dd>
      </div>
      <div><dt>Provider calls saved</dt><dd>{r.daily.reduce((a, d) => a + d.provider_calls_saved, 0).toLocaleString()}</dd></div>
    </dl>
  );
}

// pctOf writes a percentile, or says there were no samples.
function pctOf(v: number | null): string {
  return v === null ? "none" : ms(v);
}

// shares sums the requests of the routes by a key (provider or tier), most first.
function shares(r: Report, key: (x: Report["by_route"][number]) => string): Share[] {
  const m = new Map<string, number>();
  for (const x of r.by_route) m.set(key(x), (m.get(key(x)) ?? 0) + x.requests);
  return [...m].map(([name, value]) => ({ name, value })).sort((a, b) => b.value - a.value);
}

// conversationSeries lays the days with conversations onto every day of the period.
function conversationSeries(r: Report, labels: string[]): Series[] {
  const byDay = new Map(r.conversations.map((c) => [c.date, c]));
  return [
    { name: "Conversations", cls: "c-p50", values: labels.map((d) => byDay.get(d)?.conversations ?? 0) },
    { name: "Messages", cls: "c-p95", values: labels.map((d) => byDay.get(d)?.messages ?? 0) },
  ];
}

function Feedback({ r }: { r: Report }) {
  const f = r.feedback;
  const rated = f.up + f.down;
  return (
    <div>
      <ShareBars
        id="ch-feedback"
        title={rated === 0 ? "Feedback" : `Feedback: ${percent(f.up / rated)} good`}
        empty="No ratings in this period."
        parts={rated === 0 ? [] : [{ name: "Good answer", value: f.up }, { name: "Bad answer", value: f.down }]}
        cls="c-feedback"
      />
      <p class="muted">{f.with_comment.toLocaleString()} with a comment.</p>
    </div>
  );
}

function TopUsers({ r }: { r: Report }) {
  return (
    <figure class="chart" aria-labelledby="top-users-h">
      <figcaption id="top-users-h">Top users</figcaption>
      {r.top_users.length === 0 ? <p class="muted">No requests in this period.</p> : (
        <div class="scroll">
          <table>
            <thead><tr><th scope="col">User</th><th scope="col">Requests</th></tr></thead>
            <tbody>
              {r.top_users.map((u) => (
                <tr key={u.user_id}>
                  <td><a href={`#/admin/requests/${encodeURIComponent(u.user_id)}`}>{u.email}</a></td>
                  <td>{u.requests.toLocaleString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </figure>
  );
}
