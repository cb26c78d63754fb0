/** App-wide state: the device database, the sync engine, the signed-in user, live queries. */
import { liveQuery } from 'dexie';
import { useEffect, useState } from 'preact/hooks';
import { ensureClientId, getDB, pendingCount, SyncEngine, type OutboxEntry, type SyncStatus } from '../sync';

export const db = getDB();

import type { components } from '../api/schema';

export type AuthUser = components['schemas']['MeOut'];
export type Membership = components['schemas']['MembershipOut'];
export interface Auth { token: string; user: AuthUser }

export async function getAuth(): Promise<Auth | null> {
  return ((await db.meta.get('auth'))?.value as Auth | undefined) ?? null;
}

export const engine = new SyncEngine(db, {
  getToken: async () => (await getAuth())?.token ?? null,
});

/** Subscribe to an IndexedDB query; re-runs when the data changes in this or another tab. */
export function useLive<T>(query: () => Promise<T>, deps: unknown[], initial: T): T {
  const [value, setValue] = useState<T>(initial);
  useEffect(() => {
    const sub = liveQuery(query).subscribe({ next: setValue, error: (e: unknown) => console.error(e) });
    return () => sub.unsubscribe();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return value;
}

export function useMeta<T>(key: string): T | undefined {
  return useLive(async () => (await db.meta.get(key))?.value as T | undefined, [key], undefined);
}

export const usePending = (): number => useLive(() => pendingCount(db), [], 0);

/** Rejections the user has not dismissed (few: read them, filter in JS). */
export const useRejected = (): OutboxEntry[] =>
  useLive(async () => (await db.outbox.where('status').equals('rejected').toArray()).filter((e) => !e.dismissed), [], []);
export const useStatus = (): SyncStatus | undefined => useMeta<SyncStatus>('sync_status');
export const useAuth = (): Auth | null | undefined => useLive(getAuth, [], undefined);

export class ApiError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

/** A plain API call (sign-in, totals). Sync traffic goes through the engine. */
export async function api<T>(path: string, init: RequestInit = {}, token?: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      ...init,
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    });
  } catch {
    throw new ApiError(0, 'Cannot reach the server. Check the connection and try again.');
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    const detail = typeof body['detail'] === 'string' ? body['detail'] : `The server answered ${res.status}.`;
    throw new ApiError(res.status, detail);
  }
  return body as T;
}

export type LoginOut = components['schemas']['TokenOut'];

/** Sign in. One installed app sends changes as one person: a different person may sign in
 *  only once every change of the previous one is on the server (or saved to a file). */
export async function signIn(email: string, password: string): Promise<void> {
  const out = await api<LoginOut>('/auth/login', {
    method: 'POST',
    body: JSON.stringify({ email, password, device_label: deviceLabel() }),
  });
  const previous = (await db.meta.get('user_id'))?.value as string | undefined;
  if (previous && previous !== out.user.id) {
    const pending = await pendingCount(db);
    if (pending > 0) {
      throw new ApiError(409, `This tablet still holds ${pending} unsent change(s) of another person. Sign in as them and sync, or save the changes to a file first.`);
    }
    // Another person: a fresh install identity, and none of the previous person's data.
    await db.transaction('rw', [db.meta, db.records, db.outbox], async () => {
      await db.records.clear();
      await db.outbox.clear();
      for (const key of ['client_id', 'next_seq', 'cursor', 'epoch', 'totals', 'study_id', 'undo', 'sync_status']) await db.meta.delete(key);
    });
  }
  await ensureClientId(db);
  await db.meta.bulkPut([
    { key: 'auth', value: { token: out.token, user: out.user } satisfies Auth },
    { key: 'user_id', value: out.user.id },
  ]);
  const studies = out.user.memberships;
  if (studies.length === 1 && studies[0]) await db.meta.put({ key: 'study_id', value: studies[0].study_id });
  void engine.syncNow();
}

export async function signOut(): Promise<void> {
  const auth = await getAuth();
  if (auth) await api('/auth/logout', { method: 'POST' }, auth.token).catch(() => undefined);
  await db.meta.delete('auth');
}

function deviceLabel(): string {
  const ua = navigator.userAgent;
  const kind = /iPad|Macintosh.*Mobile/.test(ua) ? 'iPad' : /Android/.test(ua) ? 'Android tablet' : 'Browser';
  return `${kind} (fieldscope app)`;
}
