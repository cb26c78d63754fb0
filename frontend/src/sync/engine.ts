/** Sync: push pending entries, then pull pages until none remain. Runs on start, on
 *  `online`, on `visibilitychange`, on a backoff timer and on "Sync now"; never Background Sync. */
import type { FieldscopeDB } from './db';
import { pendingByClient, pendingCount, settle } from './outbox';
import { applyPage, resetPulled } from './records';
import { PROTOCOL, type Mutation, type OutboxEntry, type PullResponse, type PushResponse, type SyncStatus } from './types';

export interface EngineOptions {
  fetch?: typeof fetch;
  baseUrl?: string;
  getToken: () => Promise<string | null>;
  batchSize?: number;
  maxBatchBytes?: number;
  pullLimit?: number;
}

export class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly body: Record<string, unknown>) {
    super(message);
  }
}

const MAX_BACKOFF_MS = 5 * 60_000;
const IDLE_INTERVAL_MS = 60_000;
const NUDGE_MS = 8_000;

function toMutation(e: OutboxEntry): Mutation {
  return {
    mutation_id: e.mutation_id, client_seq: e.client_seq, entity: e.entity, op: e.op,
    record_id: e.record_id, base_version: e.base_version, fields: e.fields, device_time: e.device_time,
  };
}

export class SyncEngine {
  private readonly fetchFn: typeof fetch;
  private readonly baseUrl: string;
  private batchSize: number;
  private readonly maxBatchBytes: number;
  private readonly pullLimit: number;
  private running: Promise<SyncStatus> | null = null;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private started = false;
  private nextRunAt = 0;

  constructor(private readonly db: FieldscopeDB, private readonly opts: EngineOptions) {
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.baseUrl = opts.baseUrl ?? '';
    this.batchSize = opts.batchSize ?? 200;
    this.maxBatchBytes = opts.maxBatchBytes ?? 1_500_000;
    this.pullLimit = opts.pullLimit ?? 500;
  }

  /** One sync, serialised within this tab and (with Web Locks) across tabs. */
  syncNow(): Promise<SyncStatus> {
    this.running ??= this.withLock(() => this.run()).finally(() => {
      this.running = null;
      this.schedule();
    });
    return this.running;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    window.addEventListener('online', this.onTrigger);
    document.addEventListener('visibilitychange', this.onVisible);
    void this.syncNow();
  }

  stop(): void {
    this.started = false;
    window.removeEventListener('online', this.onTrigger);
    document.removeEventListener('visibilitychange', this.onVisible);
    if (this.timer) clearTimeout(this.timer);
  }

  /** A local change was made: sync within a few seconds (throttled, not per tap). */
  nudge(): void {
    if (!this.started || this.failures > 0 || (typeof navigator !== 'undefined' && !navigator.onLine)) return;
    if (this.timer && this.nextRunAt - Date.now() <= NUDGE_MS) return;
    if (this.timer) clearTimeout(this.timer);
    this.nextRunAt = Date.now() + NUDGE_MS;
    this.timer = setTimeout(() => void this.syncNow(), NUDGE_MS);
  }

  private readonly onTrigger = (): void => {
    this.failures = 0;
    void this.syncNow();
  };

  private readonly onVisible = (): void => {
    if (document.visibilityState === 'visible') this.onTrigger();
  };

  /** Backoff timer: quick retries after a failure, growing to 5 minutes; a slow beat when idle. */
  private schedule(): void {
    if (!this.started) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = this.failures === 0
      ? IDLE_INTERVAL_MS
      : Math.min(MAX_BACKOFF_MS, 2000 * 2 ** (this.failures - 1)) * (0.75 + Math.random() * 0.5);
    this.nextRunAt = Date.now() + delay;
    this.timer = setTimeout(() => void this.syncNow(), delay);
  }

  private async withLock(fn: () => Promise<SyncStatus>): Promise<SyncStatus> {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    if (!locks) return fn();
    return locks.request('fieldscope-sync', () => fn()) as unknown as Promise<SyncStatus>;
  }

  private async setStatus(patch: Partial<SyncStatus>): Promise<SyncStatus> {
    return this.db.transaction('rw', this.db.meta, async () => {
      const prev = ((await this.db.meta.get('sync_status'))?.value as SyncStatus | undefined) ?? {
        state: 'idle', message: '', last_success_at: null, last_attempt_at: null, clock_skew_seconds: null,
      };
      const next = { ...prev, ...patch };
      await this.db.meta.put({ key: 'sync_status', value: next });
      return next;
    });
  }

  private async run(): Promise<SyncStatus> {
    const token = await this.opts.getToken();
    const pending = await pendingCount(this.db);
    if (!token) {
      return this.setStatus({ state: 'signed_out', message: pending ? `Sign in to send ${pending} saved change(s).` : 'Signed out.' });
    }
    await this.setStatus({ state: 'syncing', message: 'Syncing…', last_attempt_at: new Date().toISOString() });
    try {
      await this.push(token);
      await this.pull(token);
      this.failures = 0;
      return await this.setStatus({ state: 'idle', message: 'Up to date.', last_success_at: new Date().toISOString() });
    } catch (err) {
      this.failures += 1;
      return this.setStatus(this.describe(err, await pendingCount(this.db)));
    }
  }

  private describe(err: unknown, pending: number): Partial<SyncStatus> {
    const kept = pending ? ` Your ${pending} unsent change(s) are kept on this device.` : '';
    if (err instanceof HttpError) {
      if (err.status === 401) return { state: 'signed_out', message: `Your sign-in has expired: sign in again.${kept}` };
      if (err.status === 426) return { state: 'upgrade_required', message: `The server needs a newer version of this app: reload to update.${kept}` };
      return { state: 'error', message: `${err.message}${kept}` };
    }
    return { state: 'offline', message: `Cannot reach the server.${kept}` };
  }

  private async call<T>(path: string, token: string, init: RequestInit = {}): Promise<T> {
    const res = await this.fetchFn(`${this.baseUrl}${path}`, {
      ...init,
      cache: 'no-store',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
    });
    if (!res.ok) {
      let body: Record<string, unknown> = {};
      try { body = (await res.json()) as Record<string, unknown>; } catch { /* not JSON */ }
      const detail = typeof body['detail'] === 'string' ? body['detail'] : `The server answered ${res.status}.`;
      throw new HttpError(res.status, typeof body['code'] === 'string' ? body['code'] : String(res.status), detail, body);
    }
    return (await res.json()) as T;
  }

  /** Push every pending entry, per client_id, in seq order, in bounded batches. An entry is
   *  settled only by a result naming its mutation_id; a lost reply means a replay later. */
  private async push(token: string): Promise<void> {
    for (;;) {
      const groups = await pendingByClient(this.db);
      if (groups.size === 0) return;
      let progressed = false;
      for (const [clientId, entries] of groups) {
        const batch: Mutation[] = [];
        let bytes = 0;
        for (const e of entries) {
          const m = toMutation(e);
          const size = JSON.stringify(m).length;
          if (batch.length >= this.batchSize || (batch.length > 0 && bytes + size > this.maxBatchBytes)) break;
          batch.push(m);
          bytes += size;
        }
        let res: PushResponse;
        try {
          res = await this.call<PushResponse>('/api/v1/sync/push', token, {
            method: 'POST',
            body: JSON.stringify({ protocol: PROTOCOL, client_id: clientId, device_time: new Date().toISOString(), mutations: batch }),
          });
        } catch (err) {
          if (err instanceof HttpError && err.status === 413 && this.batchSize > 1) {
            this.batchSize = Math.max(1, Math.floor(batch.length / 2));
            progressed = true;
            continue;
          }
          throw err;
        }
        if (res.clock_skew_seconds !== undefined) await this.setStatus({ clock_skew_seconds: res.clock_skew_seconds });
        if ((await settle(this.db, res.results)) > 0) progressed = true;
      }
      // A reply that settled nothing would loop for ever: stop and let the backoff retry.
      if (!progressed) throw new HttpError(500, 'no_progress', 'The server did not confirm any change.', {});
    }
  }

  private async pull(token: string): Promise<void> {
    for (let pages = 0; pages < 10_000; pages++) {
      const cursor = ((await this.db.meta.get('cursor'))?.value as number | undefined) ?? 0;
      const epoch = (await this.db.meta.get('epoch'))?.value as string | undefined;
      const q = new URLSearchParams({ cursor: String(cursor), limit: String(this.pullLimit) });
      if (epoch) q.set('epoch', epoch);
      const page = await this.call<PullResponse>(`/api/v1/sync/pull?${q.toString()}`, token);
      if (page.reset) {
        await resetPulled(this.db, page.server_epoch);
        continue;
      }
      await applyPage(this.db, cursor, page.server_epoch, page.changes, page.next_cursor, page.has_more ? undefined : page.totals);
      if (!page.has_more) return;
    }
  }
}
