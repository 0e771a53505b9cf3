// Charts drawn as SVG by hand (no chart library): each is a figure with a
// caption, an SVG that scales to its container (viewBox, width 100%), a
// <title> on every bar so that a pointer or a screen reader reads its
// number, and a table of the same numbers for those who cannot see the
// chart. Colours come from CSS classes (the CSP refuses style attributes),
// with a light and a dark palette in style.css.
import type { ComponentChildren } from "preact";

/** Series is one named row of values, drawn in the colour of its class. */
export interface Series {
  name: string;
  /** cls picks the colour: a class defined in style.css (c-success, c-p50...). */
  cls: string;
  /** values has one per label; null where there is none (no bar, "none" in words). */
  values: (number | null)[];
}

const W = 400;
const H = 180;
const PAD = { top: 10, right: 6, bottom: 24, left: 40 };

/** niceMax rounds a maximum up to 1, 2 or 5 times a power of ten. */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) {
    if (v <= m * p) return m * p;
  }
  return 10 * p;
}

/** Format turns a value into words for titles, axes and tables. */
export type Format = (v: number) => string;

const plain: Format = (v) => v.toLocaleString();

/** Figure is a chart's frame: a heading, the chart, its legend and its numbers. */
function Figure({ id, title, children }: { id: string; title: string; children: ComponentChildren }) {
  return (
    <figure class="chart" aria-labelledby={`${id}-h`}>
      <figcaption id={`${id}-h`}>{title}</figcaption>
      {children}
    </figure>
  );
}

/** Legend names each series with its colour and its total (or other summary). */
function Legend({ series, summary }: { series: Series[]; summary: (s: Series) => string }) {
  return (
    <ul class="legend">
      {series.map((s) => (
        <li key={s.name}>
          <svg class="swatch" viewBox="0 0 10 10" aria-hidden="true"><rect class={s.cls} width="10" height="10" rx="2" /></svg>
          {s.name}: <strong>{summary(s)}</strong>
        </li>
      ))}
    </ul>
  );
}

/** Numbers is the chart's table, folded away under a summary. */
function Numbers({ title, labels, series, format, none }: { title: string; labels: string[]; series: Series[]; format: Format; none: string }) {
  return (
    <details>
      <summary>Numbers<span class="visually-hidden"> of {title}</span></summary>
      <div class="scroll">
        <table>
          <thead>
            <tr><th scope="col">Day</th>{series.map((s) => <th scope="col" key={s.name}>{s.name}</th>)}</tr>
          </thead>
          <tbody>
            {labels.map((l, i) => (
              <tr key={l}><th scope="row">{l}</th>{series.map((s) => <td key={s.name}>{words(s.values[i], format, none)}</td>)}</tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

/** xTicks picks at most about six labels to write under the bars, counted back from the last (today). */
function xTicks(n: number): Set<number> {
  const step = Math.max(1, Math.ceil(n / 6));
  const out = new Set<number>();
  for (let i = n - 1; i >= 0; i -= step) out.add(i);
  return out;
}

/** Axes draws the horizontal grid lines with their values, and the day labels. */
function Axes({ max, labels, format, slot }: { max: number; labels: string[]; format: Format; slot: number }) {
  const ticks = xTicks(labels.length);
  return (
    <g class="axes" aria-hidden="true">
      {[0, 0.5, 1].map((f) => {
        const y = PAD.top + (1 - f) * (H - PAD.top - PAD.bottom);
        return (
          <g key={f}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y} y2={y} />
            <text x={PAD.left - 4} y={y + 4} text-anchor="end">{format(max * f)}</text>
          </g>
        );
      })}
      {labels.map((l, i) => {
        if (!ticks.has(i)) return null;
        // The first and last labels keep inside the chart's edges.
        const [x, anchor] = labels.length > 1 && i === 0 ? [PAD.left, "start"]
          : labels.length > 1 && i === labels.length - 1 ? [W - PAD.right, "end"]
          : [PAD.left + slot * (i + 0.5), "middle"];
        return <text key={l} x={x} y={H - 8} text-anchor={anchor}>{l.slice(5)}</text>;
      })}
    </g>
  );
}

/**
 * StackedBars draws one bar per label, its series stacked (or side by side
 * when grouped), with the series' totals in the legend.
 */
export function StackedBars(props: {
  id: string;
  title: string;
  labels: string[];
  series: Series[];
  format?: Format;
  /** max fixes the scale (1 for ratios); else it fits the data. */
  max?: number;
  /** grouped draws the series side by side instead of stacked. */
  grouped?: boolean;
  summary?: (s: Series) => string;
  /** none says a missing value in words. */
  none?: string;
}) {
  const { id, title, labels, series, grouped = false, none = "none" } = props;
  const format = props.format ?? plain;
  const summary = props.summary ?? ((s: Series) => format(s.values.reduce<number>((a, b) => a + (b ?? 0), 0)));
  const n = Math.max(labels.length, 1);
  const tops = labels.map((_, i) =>
    grouped ? Math.max(0, ...series.map((s) => s.values[i] ?? 0)) : series.reduce((a, s) => a + (s.values[i] ?? 0), 0));
  const max = props.max ?? niceMax(Math.max(0, ...tops));
  const plotH = H - PAD.top - PAD.bottom;
  const slot = (W - PAD.left - PAD.right) / n;
  const barW = Math.max(1, slot * 0.7);
  const y = (v: number) => (v / max) * plotH;
  return (
    <Figure id={id} title={title}>
      <Legend series={series} summary={summary} />
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-labelledby={`${id}-t`}>
        <title id={`${id}-t`}>{title}</title>
        <Axes max={max} labels={labels} format={format} slot={slot} />
        {labels.map((l, i) => {
          const x0 = PAD.left + slot * i + (slot - barW) / 2;
          let base = PAD.top + plotH;
          const w = grouped ? barW / series.length : barW;
          return (
            <g key={l}>
              {series.map((s, k) => {
                const v = s.values[i] ?? 0;
                const h = y(v);
                const x = grouped ? x0 + k * w : x0;
                const top = grouped ? PAD.top + plotH - h : base - h;
                if (!grouped) base -= h;
                return (
                  <rect key={s.name} class={s.cls} x={x} y={top} width={w} height={Math.max(h, 0)}>
                    <title>{`${l}, ${s.name}: ${words(s.values[i], format, none)}`}</title>
                  </rect>
                );
              })}
            </g>
          );
        })}
      </svg>
      <Numbers title={title} labels={labels} series={series} format={format} none={none} />
    </Figure>
  );
}

/** Share is one part of a whole: a name and its count. */
export interface Share {
  name: string;
  value: number;
}

/** Bar is one row of a horizontal bar chart: its words, and its length as a fraction of the track. */
interface Bar {
  words: string;
  fraction: number;
  cls: string;
}

/**
 * Bars draws horizontal bars under their words: the words carry the
 * numbers (so text stays text, at the reader's size), each bar shows its
 * own, and the list is the chart's table.
 */
function Bars({ bars }: { bars: Bar[] }) {
  return (
    <ul class="hbars">
      {bars.map((b) => (
        <li key={b.words}>
          {b.words}
          <svg viewBox="0 0 100 4" preserveAspectRatio="none" width="100%" height="8" aria-hidden="true">
            <rect class="track" width="100" height="4" rx="1" />
            <rect class={b.cls} width={Math.max(0, Math.min(1, b.fraction)) * 100} height="4" rx="1" />
          </svg>
        </li>
      ))}
    </ul>
  );
}

/**
 * ShareBars draws one horizontal bar per part, its length its share of
 * the whole, with the count and the percentage written above it.
 */
export function ShareBars({ id, title, parts, cls = "c-share", empty = "No requests in this period." }: {
  id: string;
  title: string;
  parts: Share[];
  cls?: string;
  /** empty is said instead of the chart when there are no parts. */
  empty?: string;
}) {
  const total = parts.reduce((a, p) => a + p.value, 0);
  return (
    <Figure id={id} title={title}>
      {parts.length === 0 ? <p class="muted">{empty}</p> : (
        <Bars bars={parts.map((p) => {
          const share = total > 0 ? p.value / total : 0;
          return { words: `${p.name}: ${p.value.toLocaleString()} (${percent(share)})`, fraction: share, cls };
        })} />
      )}
    </Figure>
  );
}

/**
 * Measures draws a few named values as horizontal bars on one scale, such
 * as percentiles, each value written above its bar; missing ones say so.
 */
export function Measures({ id, title, rows, format }: {
  id: string;
  title: string;
  rows: { name: string; cls: string; value: number | null }[];
  format: Format;
}) {
  const max = niceMax(Math.max(0, ...rows.map((r) => r.value ?? 0)));
  return (
    <Figure id={id} title={title}>
      <Bars bars={rows.map((r) => ({
        words: `${r.name}: ${r.value === null ? "no samples" : format(r.value)}`,
        fraction: (r.value ?? 0) / max,
        cls: r.cls,
      }))} />
    </Figure>
  );
}

/** words writes a value, or says there is none. */
function words(v: number | null | undefined, format: Format, none: string): string {
  return v === null || v === undefined ? none : format(v);
}

/** percent writes a fraction as a percentage with at most one decimal. */
export function percent(f: number): string {
  return `${(Math.round(f * 1000) / 10).toLocaleString()}%`;
}

/** ms writes milliseconds, as seconds from one second on. */
export function ms(v: number): string {
  return v >= 1000 ? `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)} s` : `${Math.round(v)} ms`;
}
