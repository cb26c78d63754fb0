/** The device database. Every schema version ever shipped stays listed here: Dexie
 *  upgrades from any of them, and no upgrade may drop or rewrite an outbox entry. */
import Dexie, { type Table } from 'dexie';
import type { LocalRecord, OutboxEntry } from './types';

export interface MetaRow {
  key: string;
  value: unknown;
}

export class FieldscopeDB extends Dexie {
  meta!: Table<MetaRow, string>;
  records!: Table<LocalRecord, [string, string]>;
  outbox!: Table<OutboxEntry, [string, number]>;

  constructor(name = 'fieldscope') {
    super(name);
    // v1: first release.
    this.version(1).stores({
      meta: 'key',
      records: '[entity+id], [entity+parent]',
      outbox: '[client_id+client_seq], &mutation_id, status, record_id',
    });
    // v2: look records up by entity alone (site totals, lists). Index only: outbox untouched.
    this.version(2).stores({
      records: '[entity+id], [entity+parent], entity',
    });
    // v3: live rows per parent by index. Fills `gone` on records; the outbox is not touched.
    this.version(3)
      .stores({ records: '[entity+id], [entity+parent], entity, [entity+parent+gone]' })
      .upgrade((tx) =>
        tx.table('records').toCollection().modify((r: { data: { deleted_at?: unknown }; gone?: number }) => {
          r.gone = r.data.deleted_at ? 1 : 0;
        }),
      );
  }
}

let shared: FieldscopeDB | null = null;

export function getDB(): FieldscopeDB {
  shared ??= new FieldscopeDB();
  return shared;
}

export async function getMeta<T>(db: FieldscopeDB, key: string): Promise<T | undefined> {
  const row = await db.meta.get(key);
  return row?.value as T | undefined;
}

export async function setMeta(db: FieldscopeDB, key: string, value: unknown): Promise<void> {
  await db.meta.put({ key, value });
}
