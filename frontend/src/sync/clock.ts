/** Session time. Within a page's life time comes from the monotonic `performance.now()`,
 *  anchored to one wall-clock reading (`performance.timeOrigin`), so a clock change on the
 *  tablet mid-meeting does not bend a duration. The session's start and pauses are stored as
 *  instants, so a reload or crash resumes exactly where the meeting is. */

export interface Pause {
  start: string;
  end: string | null;
}

export interface ClockState {
  started_at: string;
  ended_at: string | null;
  pauses: Pause[];
}

/** Milliseconds since the epoch, monotonic for the life of this page. */
export function monoNow(): number {
  return performance.timeOrigin + performance.now();
}

export function monoIso(): string {
  return new Date(monoNow()).toISOString();
}

/** Seconds observed (pauses excluded) up to `at` (default: now, or the end). */
export function sessionClock(s: ClockState, at: number = monoNow()): { elapsed: number; paused: boolean; offset: number } {
  const start = Date.parse(s.started_at);
  const end = s.ended_at ? Date.parse(s.ended_at) : at;
  let pausedMs = 0;
  let paused = false;
  for (const p of s.pauses) {
    const ps = Date.parse(p.start);
    const pe = p.end ? Date.parse(p.end) : end;
    if (!p.end && !s.ended_at) paused = true;
    pausedMs += Math.max(0, Math.min(pe, end) - ps);
  }
  return {
    elapsed: Math.max(0, (end - start - pausedMs) / 1000),
    paused,
    // Where in the meeting a tag falls: time since the start, pauses included.
    offset: Math.max(0, (at - start) / 1000),
  };
}

export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}
