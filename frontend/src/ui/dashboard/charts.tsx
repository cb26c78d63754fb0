/** Shared pieces of the dashboard screens: loading the API, problems, filters, hand-written
 *  SVG bar and column charts (accessible: a summary label, each mark focusable with its exact
 *  numbers as <title> and as a visible readout on focus), tables and heatmaps. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../../app/store';
import { heat, linear, ticks } from './scale';

// --- data ---------------------------------------------------------------------------------

export interface Loaded<T> { data: T | null; error: string | null; loading: boolean; reload: () => void }

/** GET an API path with the stored token; re-fetches when the path changes. */
export function useApi<T>(path: string | null, token: string): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    if (typeof navigator !== 'undefined' && !navigator.onLine) {
      setState({ data: null, error: 'You are offline. The dashboard reads the server: connect to see it.', loading: false });
      return;
    }
    api<T>(path, {}, token).then(
      (data) => live && setState({ data, error: null, loading: false }),
      (e: unknown) => live && setState({ data: null, error: problem(e), loading: false }),
    );
    return () => { live = false; };
  }, [path, token, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export function problem(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 0) return 'Cannot reach the server. You may be offline: the dashboard needs a connection.';
    if (e.status === 401) return 'Your sign-in has expired. Sign in again to see the dashboard.';
    if (e.status === 403) return `Only the study's PI and analysts can see this. (${e.message})`;
    return e.message;
  }
  return e instanceof Error ? e.message : 'Something went wrong.';
}

/** Loading, error (with a retry) or the content. */
export function Status<T>({ state, children }: { state: Loaded<T>; children: (data: T) => ComponentChildren }) {
  if (state.error) {
    return (
      <div class="error dash-problem" role="alert">
        <p>{state.error}</p>
        <button type="button" class="btn small" onClick={state.reload}>Try again</button>
      </div>
    );
  }
  if (!state.data) return <p class="muted" aria-busy="true">Loading…</p>;
  return <div aria-busy={state.loading ? 'true' : undefined}>{children(state.data)}</div>;
}

// --- filters --------------------------------------------------------------------------------

export interface SiteRef { id: string; code: string }
export const LEVELS = ['executive', 'thematic', 'project'] as const;
export const levelName = (l: string | null | undefined): string => (l ? l.charAt(0).toUpperCase() + l.slice(1) : 'Unassigned');

export const FILTER_KEYS = ['site_id', 'level', 'date_from', 'date_to'] as const;

/** The API query string of the filters held in the route's query. */
export function scopeQuery(query: URLSearchParams, extra: string[] = []): string {
  const out = new URLSearchParams();
  for (const k of [...FILTER_KEYS, ...extra]) {
    const v = query.get(k);
    if (v) out.set(k, v);
  }
  const s = out.toString();
  return s ? `?${s}` : '';
}

/** Site, level and date range as form controls; each change goes into the route's query. */
export function Filters({ sites, query, onChange, children }: { sites: SiteRef[]; query: URLSearchParams; onChange: (key: string, value: string) => void; children?: ComponentChildren }) {
  return (
    <form class="dash-filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
      <label>
        Site
        <select name="site_id" value={query.get('site_id') ?? ''} onChange={(e) => onChange('site_id', e.currentTarget.value)}>
          <option value="">All sites</option>
          {sites.map((s) => <option key={s.id} value={s.id}>Site {s.code}</option>)}
        </select>
      </label>
      <label>
        Level
        <select name="level" value={query.get('level') ?? ''} onChange={(e) => onChange('level', e.currentTarget.value)}>
          <option value="">All levels</option>
          {LEVELS.map((l) => <option key={l} value={l}>{levelName(l)}</option>)}
        </select>
      </label>
      <label>
        From
        <input type="date" name="date_from" value={query.get('date_from') ?? ''} onChange={(e) => onChange('date_from', e.currentTarget.value)} />
      </label>
      <label>
        To
        <input type="date" name="date_to" value={query.get('date_to') ?? ''} onChange={(e) => onChange('date_to', e.currentTarget.value)} />
      </label>
      {children}
    </form>
  );
}

/** A horizontally scrolling box that joins the tab order (as a labelled region) only while
 *  its content overflows, so keyboard users can scroll it and nobody tabs through it idly. */
export function Scroll({ label, class: cls = 'table-wrap', children }: { label: string; class?: string; children: ComponentChildren }) {
  const ref = useRef<HTMLDivElement>(null);
  const [over, setOver] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const check = (): void => setOver(el.scrollWidth > el.clientWidth + 1);
    check();
    const ro = new ResizeObserver(check);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return (
    <div ref={ref} class={cls} tabIndex={over ? 0 : undefined} role={over ? 'region' : undefined} aria-label={over ? `${label} (scrolls sideways)` : undefined}>
      {children}
    </div>
  );
}

// --- tables ---------------------------------------------------------------------------------

export type Cell = string | number;

/** A plain data table. `rowHeads` makes the first cell of each row a row header. */
export function DataTable({ caption, head, rows, foot, testid }: { caption: string; head: string[]; rows: Cell[][]; foot?: Cell[]; testid?: string }) {
  return (
    <Scroll label={caption}>
      <table data-testid={testid}>
        <caption class="sr-only">{caption}</caption>
        <thead><tr>{head.map((h, i) => <th key={i} scope="col">{h}</th>)}</tr></thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>{r.map((c, j) => (j === 0 ? <th key={j} scope="row">{c}</th> : <td key={j}>{c}</td>))}</tr>
          ))}
        </tbody>
        {foot && <tfoot><tr>{foot.map((c, j) => (j === 0 ? <th key={j} scope="row">{c}</th> : <td key={j}>{c}</td>))}</tr></tfoot>}
      </table>
    </Scroll>
  );
}

/** The numbers behind a chart, folded away under "Show as table". */
export function AsTable(props: { caption: string; head: string[]; rows: Cell[][]; foot?: Cell[]; testid?: string; open?: boolean }) {
  return (
    <details class="as-table" open={props.open}>
      <summary>Show as table</summary>
      <DataTable {...props} />
    </details>
  );
}

// --- charts ---------------------------------------------------------------------------------

export interface Bar { label: string; value: number; target?: number; detail: string }

/** A focusable mark: hover shows its <title>, keyboard focus shows `detail` in the readout. */
function useReadout(): [string | null, (s: string | null) => void] {
  return useState<string | null>(null);
}

function Readout({ text, fallback }: { text: string | null; fallback: string }) {
  return <p class={`readout ${text ? '' : 'muted'}`} aria-hidden="true">{text ?? fallback}</p>;
}

/** Horizontal bars with an optional target tick per bar. */
export function BarChart({ title, summary, bars, unit, format = (v) => `${v}` }: { title: string; summary: string; bars: Bar[]; unit: string; format?: (v: number) => string }) {
  const [shown, setShown] = useReadout();
  const labelW = Math.min(230, 24 + 8.2 * Math.max(4, ...bars.map((b) => b.label.length)));
  const w = 640;
  const rowH = 34;
  const axisH = 26;
  const top = Math.max(...bars.map((b) => Math.max(b.value, b.target ?? 0)), 0);
  const tk = ticks(top);
  const x = linear(tk[tk.length - 1] ?? 1, w - labelW - 60);
  const h = bars.length * rowH + axisH;
  return (
    <figure class="chart">
      <figcaption><strong>{title}</strong> <span class="muted small">{summary}</span></figcaption>
      <svg viewBox={`0 0 ${w} ${h}`} role="group" aria-label={`${title}. ${summary}`} class="chart-svg bars">
        {tk.map((t) => (
          <g key={t} aria-hidden="true">
            <line x1={labelW + x(t)} x2={labelW + x(t)} y1={0} y2={h - axisH} class="grid" />
            <text x={labelW + x(t)} y={h - 8} class="tick" text-anchor="middle">{t}</text>
          </g>
        ))}
        {bars.map((b, i) => {
          const y = i * rowH + 6;
          return (
            <g key={b.label} class="mark" tabIndex={0} role="img" aria-label={b.detail}
              onFocus={() => setShown(b.detail)} onBlur={() => setShown(null)} onMouseEnter={() => setShown(b.detail)} onMouseLeave={() => setShown(null)}>
              <title>{b.detail}</title>
              <text x={labelW - 8} y={y + rowH / 2} class="bar-label" text-anchor="end">{b.label}</text>
              <rect x={labelW} y={y} width={Math.max(1, x(b.value))} height={rowH - 14} class="bar-fill" rx="3" />
              {b.target != null && b.target > 0 && (
                <line x1={labelW + x(b.target)} x2={labelW + x(b.target)} y1={y - 3} y2={y + rowH - 11} class="target" />
              )}
              <text x={labelW + Math.max(x(b.value), b.target != null ? x(b.target) : 0) + 6} y={y + rowH / 2} class="bar-value">{format(b.value)}</text>
            </g>
          );
        })}
      </svg>
      <Readout text={shown} fallback={`Hover or focus a bar for its exact ${unit}.${bars.some((b) => b.target) ? ' The dark tick is the target.' : ''}`} />
    </figure>
  );
}

export interface Column { key: string; label: string; value: number; detail: string }

/** Columns over time (weeks); only non-empty columns are focusable. */
export function ColumnChart({ title, summary, columns, unit, every = 1 }: { title: string; summary: string; columns: Column[]; unit: string; every?: number }) {
  const [shown, setShown] = useReadout();
  const left = 44;
  const w = Math.max(640, left + columns.length * 10 + 10);
  const h = 240;
  const axisH = 40;
  const tk = ticks(Math.max(...columns.map((c) => c.value), 0), 4);
  const topV = tk[tk.length - 1] ?? 1;
  const y = linear(topV, h - axisH - 10);
  const step = (w - left - 10) / Math.max(1, columns.length);
  return (
    <figure class="chart">
      <figcaption><strong>{title}</strong> <span class="muted small">{summary}</span></figcaption>
      <Scroll label={title} class="chart-scroll">
        <svg viewBox={`0 0 ${w} ${h}`} role="group" aria-label={`${title}. ${summary}`} class="chart-svg" style={{ minWidth: `${Math.min(w, 1400)}px` }}>
          {tk.map((t) => (
            <g key={t} aria-hidden="true">
              <line x1={left} x2={w - 10} y1={h - axisH - y(t)} y2={h - axisH - y(t)} class="grid" />
              <text x={left - 6} y={h - axisH - y(t) + 4} class="tick" text-anchor="end">{t}</text>
            </g>
          ))}
          {columns.map((c, i) => {
            const cx = left + i * step;
            const bh = y(c.value);
            const label = i % every === 0 ? <text x={cx + step / 2} y={h - axisH + 14} class="tick" text-anchor="middle" aria-hidden="true">{c.label}</text> : null;
            if (c.value <= 0) return <g key={c.key} aria-hidden="true">{label}</g>;
            return (
              <g key={c.key} class="mark" tabIndex={0} role="img" aria-label={c.detail}
                onFocus={() => setShown(c.detail)} onBlur={() => setShown(null)} onMouseEnter={() => setShown(c.detail)} onMouseLeave={() => setShown(null)}>
                <title>{c.detail}</title>
                <rect x={cx + 1} y={h - axisH - bh} width={Math.max(2, step - 2)} height={bh} class="bar-fill" />
                {label}
              </g>
            );
          })}
          <line x1={left} x2={w - 10} y1={h - axisH} y2={h - axisH} class="axis" aria-hidden="true" />
        </svg>
      </Scroll>
      <Readout text={shown} fallback={`Hover or focus a column for its exact ${unit}.`} />
    </figure>
  );
}

// --- heatmap --------------------------------------------------------------------------------

export interface HeatRow { key: string; label: string; note?: string; counts: number[]; total: number }

/** A contribution matrix as a table whose cells are shaded by count (text colour chosen for
 *  contrast); each cell's title gives its exact meaning. */
export function Heatmap({ caption, rowHead, columns, rows, columnTotals, total, testid }: {
  caption: string; rowHead: string; columns: { key: string; label: string; colour: string }[]; rows: HeatRow[]; columnTotals: number[]; total: number; testid?: string;
}) {
  const max = Math.max(0, ...rows.flatMap((r) => r.counts));
  return (
    <Scroll label={caption}>
      <table class="heat" data-testid={testid}>
        <caption class="sr-only">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{rowHead}</th>
            {columns.map((c) => <th key={c.key} scope="col"><span class="swatch" style={{ background: c.colour }} aria-hidden="true" />{c.label}</th>)}
            <th scope="col">Total</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key} data-row={r.label}>
              <th scope="row">{r.label}{r.note && <span class="muted small"> {r.note}</span>}</th>
              {r.counts.map((n, i) => {
                const { bg, fg } = heat(n, max);
                const col = columns[i];
                return <td key={col?.key ?? i} style={{ background: bg, color: fg }} title={`${r.label} × ${col?.label ?? ''}: ${n} intervention${n === 1 ? '' : 's'}`}>{n}</td>;
              })}
              <td class="total">{r.total}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row">Total</th>
            {columnTotals.map((n, i) => <td key={i}>{n}</td>)}
            <td class="total">{total}</td>
          </tr>
        </tfoot>
      </table>
    </Scroll>
  );
}
