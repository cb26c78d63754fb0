/** The outbox: every local change and its outbox entry are written in one transaction,
 *  with a gap-free client_seq taken in that same transaction. */
import Dexie from 'dexie';
import type { FieldscopeDB, MetaRow } from './db';
import { uuid4 } from './ids';
import { baseVersion, entriesFor, parentOf, rebase, refresh } from './records';
import type { Fields, Op, OutboxEntry, PushResult, WritableEntity } from './types';

export const EXPORT_FORMAT = 'fieldscope-outbox';

/** The installed app's client_id: made once, on first use, and kept. */
export async function ensureClientId(db: FieldscopeDB): Promise<string> {
  return db.transaction('rw', db.meta, async () => {
    const row = await db.meta.get('client_id');
    if (typeof row?.value === 'string') return row.value;
    const id = uuid4();
    await db.meta.put({ key: 'client_id', value: id });
    await db.meta.put({ key: 'next_seq', value: 1 });
    return id;
  });
}

export interface LocalChange {
  entity: WritableEntity;
  id: string;
  op?: Op;
  /** For a create: the whole record. For an edit: only the fields the user changed. */
  fields?: Fields;
  deviceTime?: string;
  /** The id was just made on this device (a create): skip looking for an existing row. */
  isNew?: boolean;
}

/** Thrown inside a write that guessed the next seq wrong (another tab wrote meanwhile): the
 *  transaction aborts with nothing written, and the caller retries without guessing. */
export class StaleSeq extends Error {
  override name = 'StaleSeq';
}

export const isStaleSeq = (e: unknown): boolean =>
  e instanceof StaleSeq || (e as { inner?: unknown } | null)?.inner instanceof StaleSeq;

// The last (client_id, next seq) this tab saw. Only a hint: every write checks it in its own
// transaction before anything is committed.
const guesses = new WeakMap<FieldscopeDB, { clientId: string; next: number }>();

function newEntry(clientId: string, seq: number, change: LocalChange, op: Op, base: number | null): OutboxEntry {
  return {
    client_id: clientId,
    client_seq: seq,
    mutation_id: uuid4(),
    entity: change.entity,
    op,
    record_id: change.id,
    base_version: base,
    fields: op === 'delete' ? {} : { ...(change.fields ?? {}) },
    device_time: change.deviceTime ?? new Date().toISOString(),
    status: 'pending',
    reason: null,
    result_version: null,
    conflicts: [],
    settled_at: null,
  };
}

export interface MutateOptions {
  /** Creates on the tap path: send the writes together with the reads that check a guessed
   *  seq, saving a round trip; a wrong guess throws StaleSeq (nothing written). */
  guessSeq?: boolean;
  /** More meta rows (an undo note) to write in the same transaction. */
  meta?: MetaRow[];
  /** Called with the moment IndexedDB committed (the `complete` event's timestamp). */
  onCommitted?: (at: number) => void;
}

/** Record one change locally and queue it, atomically. Returns the queued entry. */
export async function mutate(db: FieldscopeDB, change: LocalChange, opts: MutateOptions = {}): Promise<OutboxEntry> {
  const op = change.op ?? 'upsert';
  const guess = opts.guessSeq && change.isNew && op === 'upsert' ? guesses.get(db) : undefined;
  const outermost = !Dexie.currentTransaction;
  const entry = await db.transaction('rw', [db.meta, db.records, db.outbox], async (tx) => {
    const { onCommitted } = opts;
    if (onCommitted) tx.idbtrans.addEventListener('complete', (ev) => onCommitted(ev.timeStamp), { once: true });
    const extra = (opts.meta ?? []).map((row) => db.meta.put(row));
    if (guess) {
      const reads = db.meta.bulkGet(['client_id', 'next_seq']);
      const e = newEntry(guess.clientId, guess.next, change, op, null);
      const data = rebase(null, [e], change.id)!;
      const writes = Promise.all([
        db.outbox.add(e),
        db.meta.put({ key: 'next_seq', value: guess.next + 1 }),
        db.records.add({ entity: change.entity, id: change.id, parent: parentOf(change.entity, data), server: null, data, gone: 0 }),
        ...extra,
      ]);
      let refused = false;
      writes.catch(() => { refused = true; }); // a clash is reported as StaleSeq below
      const [clientRow, seqRow] = await reads;
      if (clientRow?.value !== guess.clientId || (seqRow?.value ?? 1) !== guess.next) throw new StaleSeq('seq moved');
      // Every write is sent and the guess holds: commit now, instead of after each write's
      // success event has waited its turn on a main thread busy drawing the tap. A write refused
      // before reaching IndexedDB (a hook, a bad key) has rejected by now and aborts instead;
      // none of these writes can clash later (fresh ids, and no entry exists at or after
      // next_seq), and storage failures abort the commit itself.
      if (outermost && !refused) commitNow(tx.idbtrans);
      await writes;
      return e;
    }
    // Few, pipelined requests: the seq is read inside the transaction (other tabs write too);
    // the record lookup rides along.
    const [[clientRow, seqRow], existing] = await Promise.all([
      db.meta.bulkGet(['client_id', 'next_seq']),
      change.isNew ? undefined : db.records.get([change.entity, change.id]),
    ]);
    const clientId = clientRow?.value;
    if (typeof clientId !== 'string') throw new Error('client_id missing: call ensureClientId first');
    const seq = (seqRow?.value as number | undefined) ?? 1;
    // A record with no local row has no unconfirmed entries (every pending entry keeps a row).
    const earlier = existing ? await entriesFor(db, change.entity, change.id) : [];
    const e = newEntry(clientId, seq, change, op, existing ? baseVersion(existing.server) : null);
    const server = existing?.server ?? null;
    const data = rebase(server, [...earlier, e], change.id);
    await Promise.all([
      ...extra,
      db.outbox.add(e),
      db.meta.put({ key: 'next_seq', value: seq + 1 }),
      !data
        ? db.records.delete([change.entity, change.id])
        : (change.isNew ? db.records.add.bind(db.records) : db.records.put.bind(db.records))(
            { entity: change.entity, id: change.id, parent: parentOf(change.entity, data), server, data, gone: data['deleted_at'] ? 1 : 0 },
          ),
    ]);
    return e;
  });
  guesses.set(db, { clientId: entry.client_id, next: entry.client_seq + 1 });
  return entry;
}

function commitNow(t: IDBTransaction): void {
  try {
    t.commit(); // not in every browser: there, the transaction commits on its own a little later
  } catch {
    /* already committing */
  }
}

/** Record the server's outcome for each mutation it answered. Nothing else ends an entry. */
export async function settle(db: FieldscopeDB, results: PushResult[]): Promise<number> {
  let settled = 0;
  await db.transaction('rw', [db.meta, db.records, db.outbox], async () => {
    const now = new Date().toISOString();
    for (const r of results) {
      const entry = await db.outbox.where('mutation_id').equals(r.mutation_id).first();
      if (!entry || entry.status !== 'pending') continue;
      await db.outbox.update([entry.client_id, entry.client_seq], {
        status: r.outcome,
        reason: r.reason ?? null,
        result_version: r.version ?? null,
        conflicts: r.conflicts ?? [],
        settled_at: now,
      });
      settled += 1;
      await refresh(db, entry.entity, entry.record_id, undefined);
    }
  });
  return settled;
}

export async function pendingCount(db: FieldscopeDB): Promise<number> {
  return db.outbox.where('status').equals('pending').count();
}

/** Pending entries grouped per client_id (ours, and any imported from another device),
 *  each group in seq order. */
export async function pendingByClient(db: FieldscopeDB): Promise<Map<string, OutboxEntry[]>> {
  const rows = await db.outbox.where('status').equals('pending').toArray();
  const groups = new Map<string, OutboxEntry[]>();
  for (const e of rows) groups.set(e.client_id, [...(groups.get(e.client_id) ?? []), e]);
  for (const list of groups.values()) list.sort((a, b) => a.client_seq - b.client_seq);
  return groups;
}

export interface ExportFile {
  format: typeof EXPORT_FORMAT;
  version: 1;
  exported_at: string;
  user_id: string | null;
  client_id: string;
  entries: OutboxEntry[];
}

/** The escape hatch: every pending change, exactly as queued, as a file. */
export async function exportPending(db: FieldscopeDB): Promise<ExportFile> {
  const rows = await db.outbox.where('status').equals('pending').toArray();
  rows.sort((a, b) => (a.client_id === b.client_id ? a.client_seq - b.client_seq : a.client_id < b.client_id ? -1 : 1));
  return {
    format: EXPORT_FORMAT,
    version: 1,
    exported_at: new Date().toISOString(),
    user_id: ((await db.meta.get('user_id'))?.value as string | undefined) ?? null,
    client_id: ((await db.meta.get('client_id'))?.value as string | undefined) ?? '',
    entries: rows,
  };
}

export interface ImportReport {
  added: number;
  already_here: number;
  problems: string[];
}

const ENTITIES = new Set<WritableEntity>([
  'participant', 'meeting', 'meeting_attendee', 'observation_session', 'intervention', 'field_note', 'journal_entry',
]);

function validEntry(e: unknown): e is OutboxEntry {
  if (typeof e !== 'object' || e === null) return false;
  const x = e as Record<string, unknown>;
  return (
    typeof x['client_id'] === 'string' &&
    Number.isInteger(x['client_seq']) &&
    (x['client_seq'] as number) >= 1 &&
    typeof x['mutation_id'] === 'string' &&
    ENTITIES.has(x['entity'] as WritableEntity) &&
    (x['op'] === 'upsert' || x['op'] === 'delete') &&
    typeof x['record_id'] === 'string' &&
    (x['base_version'] === null || Number.isInteger(x['base_version'])) &&
    typeof x['fields'] === 'object' && x['fields'] !== null &&
    typeof x['device_time'] === 'string'
  );
}

/** Take an exported file back in. Entries keep their client_id, seq and mutation_id, so the
 *  server applies each once however many devices send it; ones already here are skipped. */
export async function importPending(db: FieldscopeDB, file: unknown, userId: string | null): Promise<ImportReport> {
  const report: ImportReport = { added: 0, already_here: 0, problems: [] };
  const f = file as Partial<ExportFile> | null;
  if (!f || f.format !== EXPORT_FORMAT || f.version !== 1 || !Array.isArray(f.entries)) {
    report.problems.push('This is not a fieldscope pending-changes file.');
    return report;
  }
  if (f.user_id && userId && f.user_id !== userId) {
    report.problems.push('This file holds another person\'s changes; sign in as them to send it.');
    return report;
  }
  await db.transaction('rw', [db.meta, db.records, db.outbox], async () => {
    for (const raw of f.entries ?? []) {
      if (!validEntry(raw)) {
        report.problems.push(`Skipped a malformed entry (${String((raw as { mutation_id?: unknown })?.mutation_id ?? '?')}).`);
        continue;
      }
      if (await db.outbox.where('mutation_id').equals(raw.mutation_id).first()) {
        report.already_here += 1;
        continue;
      }
      const clash = await db.outbox.get([raw.client_id, raw.client_seq]);
      if (clash) {
        report.problems.push(`Change #${raw.client_seq} clashes with a different change already on this device; kept the one here.`);
        continue;
      }
      const entry: OutboxEntry = {
        client_id: raw.client_id, client_seq: raw.client_seq, mutation_id: raw.mutation_id,
        entity: raw.entity, op: raw.op, record_id: raw.record_id, base_version: raw.base_version,
        fields: raw.fields, device_time: raw.device_time, status: 'pending', reason: null,
        result_version: null, conflicts: [], settled_at: null,
      };
      await db.outbox.add(entry);
      await refresh(db, entry.entity, entry.record_id, undefined);
      report.added += 1;
    }
  });
  return report;
}
