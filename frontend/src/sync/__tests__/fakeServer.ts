/** An in-memory server that follows docs/sync-protocol.md closely enough to test the client:
 *  seq checks, replays, per-mutation outcomes, a commit-ordered change log, pages, resets. */
import type { Change, Fields, Mutation, PushResult } from '../types';

interface Client { user: string; last_seq: number; outcomes: Map<number, { mutation_id: string; hash: string; result: PushResult }> }

export class FakeServer {
  epoch = 'epoch-1';
  clients = new Map<string, Client>();
  records = new Map<string, Fields>();
  log: Change[] = [];
  applied: string[] = [];
  protocol = 1;
  /** Drop the reply of the next N pushes after committing them (the lost-reply case). */
  loseReplies = 0;
  offline = false;
  user = 'user-1';
  pushes = 0;

  private hash(m: Mutation): string {
    return JSON.stringify([m.entity, m.op, m.record_id, m.base_version ?? null, m.fields ?? {}]);
  }

  private record(entity: string, id: string, data: Fields, op: 'upsert' | 'delete'): number {
    const key = `${entity}:${id}`;
    const prev = this.records.get(key);
    const version = ((prev?.['version'] as number | undefined) ?? 0) + 1;
    const next: Fields = { ...(prev ?? {}), ...data, id, version };
    if (op === 'delete') next['deleted_at'] = '2026-01-01T00:00:00Z';
    this.records.set(key, next);
    this.log.push({ cursor: this.log.length + 1, entity: entity as Change['entity'], op, record_id: id, version, data: next });
    return version;
  }

  seed(entity: string, id: string, data: Fields): void {
    this.record(entity, id, data, 'upsert');
  }

  push(body: { protocol: number; client_id: string; mutations: Mutation[] }): [number, unknown] {
    this.pushes += 1;
    if (body.protocol !== this.protocol) return [426, { code: 'protocol_mismatch', detail: 'Update the app.' }];
    let client = this.clients.get(body.client_id);
    if (client && client.user !== this.user) return [409, { code: 'client_owned_by_other_user', detail: 'Another user owns this device id.' }];
    client ??= { user: this.user, last_seq: 0, outcomes: new Map() };
    const sorted = [...body.mutations].sort((a, b) => a.client_seq - b.client_seq);
    let expected = client.last_seq + 1;
    for (const m of sorted) {
      const known = client.outcomes.get(m.client_seq);
      if (m.client_seq <= client.last_seq) {
        if (!known || known.mutation_id !== m.mutation_id || known.hash !== this.hash(m)) return [409, { code: 'seq_conflict', detail: 'Same seq, other change.' }];
        continue;
      }
      if (m.client_seq !== expected) return [409, { code: 'seq_gap', detail: 'Gap.', expected_seq: expected }];
      expected += 1;
    }
    this.clients.set(body.client_id, client);
    const results: PushResult[] = [];
    for (const m of sorted) {
      const known = client.outcomes.get(m.client_seq);
      if (known) { results.push(known.result); continue; }
      let result: PushResult;
      if (m.fields?.['code_key'] === 'bogus') {
        result = { mutation_id: m.mutation_id, client_seq: m.client_seq, entity: m.entity, outcome: 'rejected', reason: "Code 'bogus' is not in codebook version 1.", record_id: m.record_id, version: null, conflicts: [], replayed: false };
      } else {
        const version = this.record(m.entity, m.record_id, m.fields ?? {}, m.op);
        this.applied.push(m.mutation_id);
        const conflict = m.base_version != null && m.base_version < version - 1;
        result = { mutation_id: m.mutation_id, client_seq: m.client_seq, entity: m.entity, outcome: conflict ? 'applied_with_conflict' : 'applied', reason: null, record_id: m.record_id, version, conflicts: [], replayed: false };
      }
      client.outcomes.set(m.client_seq, { mutation_id: m.mutation_id, hash: this.hash(m), result });
      client.last_seq = m.client_seq;
      results.push(result);
    }
    return [200, { server_time: new Date().toISOString(), server_epoch: this.epoch, last_seq: client.last_seq, clock_skew_seconds: 0, results }];
  }

  pull(cursor: number, limit: number, epoch: string | null): [number, unknown] {
    if ((epoch && epoch !== this.epoch) || cursor > this.log.length) {
      return [200, { server_epoch: this.epoch, server_time: '', reset: true, changes: [], next_cursor: 0, has_more: false }];
    }
    const changes = this.log.slice(cursor, cursor + limit);
    const next = changes.length ? changes[changes.length - 1]!.cursor : cursor;
    const hasMore = next < this.log.length;
    return [200, { server_epoch: this.epoch, server_time: '', reset: false, changes, next_cursor: next, has_more: hasMore, ...(hasMore ? {} : { totals: { sites: [] } }) }];
  }

  /** A `fetch` that talks to this server. */
  fetch: typeof fetch = async (input, init) => {
    if (this.offline) throw new TypeError('Failed to fetch');
    const url = new URL(String(input), 'http://server');
    let status: number; let body: unknown;
    if (url.pathname === '/api/v1/sync/push') {
      [status, body] = this.push(JSON.parse(String(init?.body)));
      if (status === 200 && this.loseReplies > 0) { this.loseReplies -= 1; throw new TypeError('connection reset'); }
    } else if (url.pathname === '/api/v1/sync/pull') {
      [status, body] = this.pull(Number(url.searchParams.get('cursor')), Number(url.searchParams.get('limit')), url.searchParams.get('epoch'));
    } else {
      [status, body] = [404, { detail: 'no route' }];
    }
    return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  };

  live(entity: string): Fields[] {
    return [...this.records.entries()].filter(([k, v]) => k.startsWith(`${entity}:`) && !v['deleted_at']).map(([, v]) => v);
  }
}
