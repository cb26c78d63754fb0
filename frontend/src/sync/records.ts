/** Local state = the server's copy with our unconfirmed mutations laid over it, in seq order. */
import type { FieldscopeDB } from './db';
import type { Change, Entity, Fields, LocalRecord, OutboxEntry } from './types';

const PARENT_FIELD: Record<Entity, string> = {
  study: 'id',
  site: 'study_id',
  codebook_version: 'study_id',
  code: 'codebook_version_id',
  participant: 'study_id',
  meeting: 'study_id',
  meeting_attendee: 'meeting_id',
  observation_session: 'meeting_id',
  intervention: 'session_id',
  field_note: 'session_id',
  journal_entry: 'session_id',
};

export function parentOf(entity: Entity, data: Fields): string {
  const value = data[PARENT_FIELD[entity]];
  return typeof value === 'string' ? value : '';
}

function versionOf(data: Fields | null): number {
  const v = data?.['version'];
  return typeof v === 'number' ? v : 0;
}

/** Is this entry still to be laid over the server copy? Pending entries always are;
 *  a confirmed one until a pulled copy at least as new as its result arrives. */
export function overlays(entry: OutboxEntry, server: Fields | null): boolean {
  if (entry.status === 'rejected') return false;
  if (entry.status === 'pending') return true;
  return entry.result_version === null || versionOf(server) < entry.result_version;
}

export function rebase(server: Fields | null, entries: OutboxEntry[], id: string): Fields | null {
  let data: Fields | null = server ? { ...server } : null;
  const sorted = [...entries].sort((a, b) =>
    a.client_id === b.client_id ? a.client_seq - b.client_seq : a.device_time < b.device_time ? -1 : 1,
  );
  for (const e of sorted) {
    if (!overlays(e, server)) continue;
    if (e.op === 'upsert') data = { ...(data ?? { id, version: null, deleted_at: null }), ...e.fields };
    else if (data) data = { ...data, deleted_at: e.device_time };
  }
  return data;
}

/** The version our next edit is made against: the newest copy the server sent us. Our own
 *  unconfirmed (or confirmed, not yet pulled) changes are not counted: the server never treats
 *  a client's own earlier changes as a conflict, and counting them would hide someone else's
 *  edit made in between. null = we have never seen the record on the server (our own create). */
export function baseVersion(server: Fields | null): number | null {
  const v = versionOf(server);
  return v === 0 ? null : v;
}

export async function entriesFor(db: FieldscopeDB, entity: Entity, id: string): Promise<OutboxEntry[]> {
  const rows = await db.outbox.where('record_id').equals(id).toArray();
  return rows.filter((e) => e.entity === entity);
}

/** Recompute one record from its server copy and its entries; call inside a transaction. */
export async function refresh(
  db: FieldscopeDB,
  entity: Entity,
  id: string,
  server: Fields | null | undefined,
): Promise<void> {
  const existing = await db.records.get([entity, id]);
  const base = server === undefined ? (existing?.server ?? null) : server;
  const data = rebase(base, await entriesFor(db, entity, id), id);
  if (data === null) {
    if (existing) await db.records.delete([entity, id]);
    return;
  }
  const row: LocalRecord = { entity, id, parent: parentOf(entity, data), server: base, data, gone: data['deleted_at'] ? 1 : 0 };
  await db.records.put(row);
}

/** Apply one pulled page and its cursor in one transaction. Returns false (and changes
 *  nothing) when another tab already moved the cursor past `fromCursor`. */
export async function applyPage(
  db: FieldscopeDB,
  fromCursor: number,
  epoch: string,
  changes: Change[],
  nextCursor: number,
  totals?: unknown,
): Promise<boolean> {
  return db.transaction('rw', [db.meta, db.records, db.outbox], async () => {
    const cursor = ((await db.meta.get('cursor'))?.value as number | undefined) ?? 0;
    const storedEpoch = (await db.meta.get('epoch'))?.value as string | undefined;
    if (cursor !== fromCursor || (storedEpoch !== undefined && storedEpoch !== epoch && fromCursor !== 0)) {
      return false;
    }
    for (const change of changes) {
      const server: Fields = { ...change.data, id: change.record_id, version: change.version };
      if (change.op === 'delete' && !server['deleted_at']) server['deleted_at'] = new Date().toISOString();
      await refresh(db, change.entity, change.record_id, server);
    }
    await db.meta.put({ key: 'cursor', value: nextCursor });
    await db.meta.put({ key: 'epoch', value: epoch });
    if (totals !== undefined) await db.meta.put({ key: 'totals', value: totals });
    return true;
  });
}

/** A reset: forget every pulled copy (never an outbox entry) and start again from 0. */
export async function resetPulled(db: FieldscopeDB, epoch: string): Promise<void> {
  await db.transaction('rw', [db.meta, db.records, db.outbox], async () => {
    const rows = await db.records.toArray();
    for (const row of rows) await refresh(db, row.entity, row.id, null);
    await db.meta.put({ key: 'cursor', value: 0 });
    await db.meta.put({ key: 'epoch', value: epoch });
    await db.meta.delete('totals');
  });
}
