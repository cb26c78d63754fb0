import Dexie from 'dexie';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FieldscopeDB } from '../db';
import { SyncEngine } from '../engine';
import { uuid7 } from '../ids';
import { ensureClientId, exportPending, importPending, isStaleSeq, mutate, pendingCount } from '../outbox';
import { applyPage } from '../records';
import { sessionClock } from '../clock';
import type { OutboxEntry, SyncStatus } from '../types';
import { FakeServer } from './fakeServer';

let db: FieldscopeDB;
let n = 0;

beforeEach(async () => {
  db = new FieldscopeDB(`test-${++n}`);
  await ensureClientId(db);
});
afterEach(async () => {
  db.close();
  await Dexie.delete(db.name);
});

const engine = (server: FakeServer, extra: Partial<ConstructorParameters<typeof SyncEngine>[1]> = {}) =>
  new SyncEngine(db, { fetch: server.fetch, baseUrl: 'http://server', getToken: async () => 'token', ...extra });

const tag = (session = 's1', code = 'relational') => mutate(db, {
  entity: 'intervention', id: uuid7(),
  fields: { session_id: session, participant_id: 'p1', code_key: code, offset_seconds: 1 },
});

const all = async (): Promise<OutboxEntry[]> => db.outbox.toArray();

describe('outbox', () => {
  it('makes the client_id once', async () => {
    const a = await ensureClientId(db);
    expect(await ensureClientId(db)).toBe(a);
  });

  it('numbers concurrent mutations gap-free from 1', async () => {
    await Promise.all(Array.from({ length: 60 }, () => tag()));
    const seqs = (await all()).map((e) => e.client_seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(await db.records.where('entity').equals('intervention').count()).toBe(60);
  });

  it('writes the local change and its outbox entry together or not at all', async () => {
    db.outbox.hook('creating', () => { throw new Error('disk full'); });
    await expect(tag()).rejects.toThrow('disk full');
    expect(await db.records.count()).toBe(0);
    expect(await db.outbox.count()).toBe(0);
    expect((await db.meta.get('next_seq'))?.value).toBe(1);
  });

  it('checks a guessed seq in the transaction: another tab writing first makes it fail cleanly', async () => {
    const other = new FieldscopeDB(db.name); // a second tab on the same database
    const create = (d: FieldscopeDB, guessSeq: boolean) =>
      mutate(d, { entity: 'intervention', id: uuid7(), isNew: true, fields: { session_id: 's' } }, { guessSeq });
    await create(db, false);
    expect((await create(db, true)).client_seq).toBe(2); // guessed right
    await create(other, false);                            // seq 3, written by the other tab
    const stale = await create(db, true).catch((e: unknown) => e);
    expect(isStaleSeq(stale)).toBe(true);
    expect(await db.outbox.count()).toBe(3);
    expect(await db.records.count()).toBe(3);
    expect((await create(db, false)).client_seq).toBe(4);
    expect((await all()).map((e) => e.client_seq).sort((a, b) => a - b)).toEqual([1, 2, 3, 4]);
    other.close();
  });

  it('writes extra meta rows (the undo note) in the same transaction, guessed seq or not', async () => {
    const create = (guessSeq: boolean, label: string) => {
      let committedAt = 0;
      const done = mutate(db, { entity: 'intervention', id: uuid7(), isNew: true, fields: { session_id: 's' } },
        { guessSeq, meta: [{ key: 'undo:s', value: label }], onCommitted: (t) => { committedAt = t; } });
      return done.then((e) => ({ e, committedAt }));
    };
    const first = await create(false, 'one');
    expect(first.committedAt).toBeGreaterThan(0);
    expect((await db.meta.get('undo:s'))?.value).toBe('one');
    const second = await create(true, 'two'); // the tap path: guessed seq, explicit commit
    expect(second.e.client_seq).toBe(2);
    expect((await db.meta.get('undo:s'))?.value).toBe('two');
    db.outbox.hook('creating', () => { throw new Error('disk full'); });
    await expect(create(true, 'three')).rejects.toThrow('disk full');
    expect((await db.meta.get('undo:s'))?.value).toBe('two'); // nothing of a failed tap lands
    expect((await db.meta.get('next_seq'))?.value).toBe(3);
    expect(await db.records.count()).toBe(2);
  });

  it('bases edits on the last pulled copy, not on our own unconfirmed edits', async () => {
    const id = uuid7();
    const a = await mutate(db, { entity: 'observation_session', id, fields: { meeting_id: 'm', started_at: 't0', pauses: [] } });
    const b = await mutate(db, { entity: 'observation_session', id, fields: { pauses: [{ start: 't1', end: null }] } });
    const c = await mutate(db, { entity: 'observation_session', id, fields: { ended_at: 't2' } });
    expect([a.base_version, b.base_version, c.base_version]).toEqual([null, null, null]);
    const rec = await db.records.get(['observation_session', id]);
    expect(rec?.data).toMatchObject({ meeting_id: 'm', ended_at: 't2', pauses: [{ start: 't1', end: null }] });
  });
});

describe('sync engine', () => {
  it('pushes everything exactly once, in order, and pulls it back', async () => {
    const server = new FakeServer();
    for (let i = 0; i < 25; i++) await tag();
    const status = await engine(server, { batchSize: 10 }).syncNow();
    expect(status.state).toBe('idle');
    expect(server.applied).toHaveLength(25);
    expect(await pendingCount(db)).toBe(0);
    const recs = await db.records.where('entity').equals('intervention').toArray();
    expect(recs.every((r) => r.server?.['version'] === 1)).toBe(true);
  });

  it('retries a lost reply as a replay: no duplicate, same outcome', async () => {
    const server = new FakeServer();
    for (let i = 0; i < 5; i++) await tag();
    server.loseReplies = 1;
    const first = await engine(server).syncNow();
    expect(first.state).toBe('offline');
    expect(await pendingCount(db)).toBe(5);
    expect(server.applied).toHaveLength(5);
    await tag();
    await engine(server).syncNow();
    expect(server.applied).toHaveLength(6);
    expect(server.live('intervention')).toHaveLength(6);
    expect(await pendingCount(db)).toBe(0);
  });

  it('keeps entries pending while offline and never expires them', async () => {
    const server = new FakeServer();
    server.offline = true;
    await tag();
    for (let i = 0; i < 3; i++) expect((await engine(server).syncNow()).state).toBe('offline');
    expect(await pendingCount(db)).toBe(1);
  });

  it('shows a rejection with its reason and still applies the rest', async () => {
    const server = new FakeServer();
    await tag();
    const bad = await tag('s1', 'bogus');
    await tag();
    await engine(server).syncNow();
    const rejected = await db.outbox.where('status').equals('rejected').toArray();
    expect(rejected.map((e) => e.mutation_id)).toEqual([bad.mutation_id]);
    expect(rejected[0]!.reason).toContain('bogus');
    expect(server.live('intervention')).toHaveLength(2);
    // The rejected create no longer shows as if it were saved on the server.
    expect(await db.records.get(['intervention', bad.record_id])).toBeUndefined();
    expect(await pendingCount(db)).toBe(0);
  });

  it('records applied_with_conflict and takes the pulled copy', async () => {
    const server = new FakeServer();
    const id = uuid7();
    await mutate(db, { entity: 'journal_entry', id, fields: { session_id: 's', text: 'a' } });
    await engine(server).syncNow();
    server.seed('journal_entry', id, { text: 'edited on the web' });
    await mutate(db, { entity: 'journal_entry', id, fields: { text: 'edited on tablet' } });
    const entry = (await all()).at(-1)!;
    expect(entry.base_version).toBe(1);
    await engine(server).syncNow();
    expect((await db.outbox.get([entry.client_id, entry.client_seq]))?.status).toBe('applied_with_conflict');
    expect((await db.records.get(['journal_entry', id]))?.data['text']).toBe('edited on tablet');
  });

  it('keeps the outbox on 426 and says why', async () => {
    const server = new FakeServer();
    server.protocol = 2;
    await tag();
    const status = await engine(server).syncNow();
    expect(status.state).toBe('upgrade_required');
    expect(status.message).toContain('1 unsent change');
    expect(await pendingCount(db)).toBe(1);
  });

  it('applies pull pages with their cursor; every change once', async () => {
    const server = new FakeServer();
    for (let i = 0; i < 1234; i++) server.seed('participant', `p${i}`, { study_id: 'st', code: `A-${i}` });
    await engine(server, { pullLimit: 500 }).syncNow();
    expect(await db.records.where('entity').equals('participant').count()).toBe(1234);
    expect((await db.meta.get('cursor'))?.value).toBe(1234);
    expect((await db.meta.get('totals'))?.value).toEqual({ sites: [] });
  });

  it('refuses a page whose cursor another tab already moved', async () => {
    await db.meta.put({ key: 'cursor', value: 10 });
    const ok = await applyPage(db, 5, 'e', [{ cursor: 6, entity: 'site', op: 'upsert', record_id: 'x', version: 1, data: {} }], 6);
    expect(ok).toBe(false);
    expect((await db.meta.get('cursor'))?.value).toBe(10);
    expect(await db.records.count()).toBe(0);
  });

  it('on reset discards pulled copies but never the outbox', async () => {
    const server = new FakeServer();
    server.seed('meeting', 'm-old', { study_id: 'st', title: 'Board' });
    await engine(server).syncNow();
    server.offline = true;
    const mine = await tag();
    server.offline = false;
    server.epoch = 'epoch-2';           // restored from backup
    server.log = []; server.records.clear();
    await engine(server).syncNow();
    expect(await db.records.get(['meeting', 'm-old'])).toBeUndefined();
    expect(server.live('intervention').map((r) => r['id'])).toEqual([mine.record_id]);
    expect((await db.meta.get('epoch'))?.value).toBe('epoch-2');
  });

  it('round-trips pending changes through a file into another device', async () => {
    const server = new FakeServer();
    for (let i = 0; i < 4; i++) await tag();
    const file = JSON.parse(JSON.stringify(await exportPending(db)));
    const other = new FieldscopeDB(`other-${n}`);
    await ensureClientId(other);
    const report = await importPending(other, file, null);
    expect(report).toEqual({ added: 4, already_here: 0, problems: [] });
    expect((await importPending(other, file, null)).already_here).toBe(4);
    // Both devices send the same four mutations: the server applies each once.
    await new SyncEngine(other, { fetch: server.fetch, getToken: async () => 't' }).syncNow();
    await engine(server).syncNow();
    expect(server.applied).toHaveLength(4);
    expect(await pendingCount(other)).toBe(0);
    expect(await pendingCount(db)).toBe(0);
    other.close();
    await Dexie.delete(other.name);
  });

  it('refuses a file that is not ours', async () => {
    expect((await importPending(db, { format: 'x' }, null)).problems[0]).toMatch(/not a fieldscope/);
  });

  it('records signed-out and keeps entries when there is no token', async () => {
    await tag();
    const s: SyncStatus = await new SyncEngine(db, { fetch: new FakeServer().fetch, getToken: async () => null }).syncNow();
    expect(s.state).toBe('signed_out');
    expect(await pendingCount(db)).toBe(1);
  });
});

describe('schema upgrade', () => {
  it('keeps every outbox entry byte for byte when opening a v1 database', async () => {
    const name = `upgrade-${n}`;
    const v1 = new Dexie(name);
    v1.version(1).stores({ meta: 'key', records: '[entity+id], [entity+parent]', outbox: '[client_id+client_seq], &mutation_id, status, record_id' });
    const entry: OutboxEntry = {
      client_id: 'c', client_seq: 1, mutation_id: 'm1', entity: 'intervention', op: 'upsert', record_id: 'r',
      base_version: null, fields: { code_key: 'relational' }, device_time: '2026-01-01T00:00:00Z', status: 'pending',
      reason: null, result_version: null, conflicts: [], settled_at: null,
    };
    await v1.table('outbox').add(entry);
    await v1.table('records').bulkAdd([
      { entity: 'intervention', id: 'r', parent: 's', server: null, data: { id: 'r' } },
      { entity: 'intervention', id: 'x', parent: 's', server: null, data: { id: 'x', deleted_at: 't' } },
    ]);
    v1.close();
    const upgraded = new FieldscopeDB(name);
    expect(await upgraded.outbox.toArray()).toEqual([entry]);
    expect(await upgraded.records.where('[entity+parent+gone]').equals(['intervention', 's', 0]).primaryKeys()).toEqual([['intervention', 'r']]);
    expect(upgraded.verno).toBeGreaterThan(1);
    upgraded.close();
    await Dexie.delete(name);
  });
});

describe('session clock', () => {
  it('excludes pauses and resumes from stored instants', () => {
    const s = { started_at: '2026-01-01T10:00:00Z', ended_at: '2026-01-01T11:00:00Z', pauses: [{ start: '2026-01-01T10:10:00Z', end: '2026-01-01T10:20:00Z' }] };
    expect(sessionClock(s).elapsed).toBe(3000);
    const running = { ...s, ended_at: null, pauses: [{ start: '2026-01-01T10:10:00Z', end: null }] };
    const r = sessionClock(running, Date.parse('2026-01-01T10:30:00Z'));
    expect(r).toEqual({ elapsed: 600, paused: true, offset: 1800 });
  });
});
