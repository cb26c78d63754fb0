/** Pure helpers of the dashboard charts: scales, ticks, heatmap colours with readable text,
 *  ISO weeks and number formats. No DOM here, so they are unit tested (scale.test.ts). */

/** A "nice" upper bound for an axis: 1, 2, 2.5 or 5 times a power of ten, at least `max`. */
export function niceMax(max: number): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= max - 1e-9) return step * power;
  return 10 * power;
}

/** Evenly spaced ticks from 0 past `max` with a nice step (about `count` of them); the last
 *  tick is the top of the axis. */
export function ticks(max: number, count = 5): number[] {
  const m = max > 0 && Number.isFinite(max) ? max : 1;
  const raw = m / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((s) => s * power).find((s) => s >= raw - 1e-9) ?? 10 * power;
  const n = Math.ceil(m / step - 1e-9);
  return Array.from({ length: n + 1 }, (_, i) => Math.round(i * step * 1e6) / 1e6);
}

/** Maps [0, domainMax] onto [0, size], clamped. */
export function linear(domainMax: number, size: number): (v: number) => number {
  const top = domainMax > 0 ? domainMax : 1;
  return (v) => Math.max(0, Math.min(size, (v / top) * size));
}

// --- colour --------------------------------------------------------------------------

type RGB = [number, number, number];

export function parseHex(hex: string): RGB {
  const h = hex.replace('#', '');
  const full = h.length === 3 ? h.split('').map((c) => c + c).join('') : h;
  const n = Number.parseInt(full.slice(0, 6), 16);
  if (!/^[0-9a-f]{6}$/i.test(full.slice(0, 6)) || Number.isNaN(n)) throw new Error(`not a colour: ${hex}`);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export function toHex([r, g, b]: RGB): string {
  return `#${[r, g, b].map((c) => Math.round(Math.max(0, Math.min(255, c))).toString(16).padStart(2, '0')).join('')}`;
}

/** WCAG 2 relative luminance. */
export function luminance(hex: string): number {
  const lin = (c: number): number => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  const [r, g, b] = parseHex(hex).map(lin) as RGB;
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2 contrast ratio, 1 to 21. */
export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

export const INK = '#14171c';
export const PAPER = '#ffffff';

/** The text colour (ink or white) that reads best on `bg`. */
export function textOn(bg: string): string {
  return contrast(bg, INK) >= contrast(bg, PAPER) ? INK : PAPER;
}

export function mix(a: string, b: string, t: number): string {
  const [x, y] = [parseHex(a), parseHex(b)];
  const k = Math.max(0, Math.min(1, t));
  return toHex([0, 1, 2].map((i) => x[i]! + (y[i]! - x[i]!) * k) as RGB);
}

/** Heatmap cell colours: white for zero, then from a pale tint to `hue` (dark) for `max`.
 *  The text colour is picked for contrast, which is then at least 4.5:1 (tested). */
export function heat(value: number, max: number, hue = '#1d3557'): { bg: string; fg: string } {
  if (!(value > 0) || !(max > 0)) return { bg: PAPER, fg: INK };
  let t = 0.12 + 0.88 * Math.sqrt(Math.min(1, value / max));
  let bg = mix('#ffffff', hue, t);
  // Mid tones can be too dark for ink and too light for white: step off them, away from the
  // side where the text reads worse, keeping the order of the scale.
  for (let i = 0; i < 50 && Math.max(contrast(bg, INK), contrast(bg, PAPER)) < 4.5; i++) {
    t = contrast(bg, INK) >= contrast(bg, PAPER) ? t - 0.02 : Math.min(1, t + 0.02);
    bg = mix('#ffffff', hue, t);
  }
  return { bg, fg: textOn(bg) };
}

// --- ISO weeks --------------------------------------------------------------------------

const DAY = 86_400_000;

/** "2024-W09" of a UTC date (ISO 8601: weeks start on Monday; week 1 holds the first Thursday). */
export function isoWeek(date: Date): string {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const dow = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - dow); // the Thursday of this week decides the year
  const year = d.getUTCFullYear();
  const week = Math.ceil(((d.getTime() - Date.UTC(year, 0, 1)) / DAY + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The Monday (YYYY-MM-DD) of the ISO week holding `day` (YYYY-MM-DD). */
export function mondayOf(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  const dow = d.getUTCDay() || 7;
  return new Date(d.getTime() - (dow - 1) * DAY).toISOString().slice(0, 10);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "26 Feb 2024" of YYYY-MM-DD, independent of the browser's locale and time zone. */
export function dayLabel(day: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return `${d} ${MONTHS[m - 1]} ${y}`;
}

/** "2024-W09 (26 Feb–3 Mar 2024)". */
export function weekLabel(week: string, startsOn: string): string {
  const end = new Date(new Date(`${startsOn}T00:00:00Z`).getTime() + 6 * DAY).toISOString().slice(0, 10);
  const [sy, sm, sd] = startsOn.split('-').map(Number) as [number, number, number];
  const [ey, em] = end.split('-').map(Number) as [number, number];
  const start = sy === ey ? (sm === em ? `${sd}` : `${sd} ${MONTHS[sm - 1]}`) : dayLabel(startsOn);
  return `${week} (${start}–${dayLabel(end)})`;
}

/** Weeks with observation, with the silent weeks between them filled in as zeros, so a chart
 *  over time shows gaps as gaps. `points` must be sorted by `starts_on`. */
export function fillWeeks<T extends { week: string; starts_on: string }>(points: T[], empty: (week: string, startsOn: string) => T): T[] {
  const first = points[0];
  const last = points[points.length - 1];
  if (!first || !last) return [];
  const byStart = new Map(points.map((p) => [p.starts_on, p]));
  const out: T[] = [];
  for (let t = Date.parse(`${mondayOf(first.starts_on)}T00:00:00Z`); t <= Date.parse(`${last.starts_on}T00:00:00Z`); t += 7 * DAY) {
    const day = new Date(t).toISOString().slice(0, 10);
    out.push(byStart.get(day) ?? empty(isoWeek(new Date(t)), day));
    if (out.length > 2000) break; // a decade of weeks: enough
  }
  return out;
}

// --- formats ----------------------------------------------------------------------------

export const fmtHours = (h: number): string => `${h.toFixed(1)} h`;
export const fmtPct = (ratio: number | null | undefined): string => (ratio == null ? '–' : `${Math.round(ratio * 100)}%`);
export const fmtPercent = (p: number | null | undefined): string => (p == null ? '–' : `${p.toFixed(1)}%`);
export const fmtKappa = (k: number | null | undefined): string => (k == null ? '–' : k.toFixed(2));

/** Landis and Koch's words for a kappa, for people who do not read kappas daily. */
export function kappaWords(k: number | null | undefined): string {
  if (k == null) return 'not computable';
  if (k < 0) return 'worse than chance';
  if (k <= 0.2) return 'slight';
  if (k <= 0.4) return 'fair';
  if (k <= 0.6) return 'moderate';
  if (k <= 0.8) return 'substantial';
  return 'almost perfect';
}
