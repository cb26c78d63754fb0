/** Shapes of the sync protocol (docs/sync-protocol.md) and of what the device stores. The
 *  wire shapes are the server's own, generated from schemas/openapi.json (npm run gen:api),
 *  so a contract change breaks `npm run typecheck` instead of a tablet in the field. */
import type { components } from '../api/schema';

type Wire = components['schemas'];

export const PROTOCOL = 1;

export type Entity =
  | 'study'
  | 'site'
  | 'codebook_version'
  | 'code'
  | 'participant'
  | 'meeting'
  | 'meeting_attendee'
  | 'observation_session'
  | 'intervention'
  | 'field_note'
  | 'journal_entry';

export type Fields = Record<string, unknown>;
/** What a device may write (the rest only comes down in pulls). */
export type WritableEntity = Wire['Mutation']['entity'];
export type Op = 'upsert' | 'delete';
export type Outcome = 'applied' | 'applied_with_conflict' | 'rejected';
export type EntryStatus = 'pending' | Outcome;

/** One record as this device sees it: the last pulled copy plus our unconfirmed changes. */
export interface LocalRecord {
  entity: Entity;
  id: string;
  /** Index key: the record's parent (session, meeting, study or codebook version). */
  parent: string;
  /** The copy the server last sent, or null when it never has. */
  server: Fields | null;
  /** What the UI shows: `server` with every unconfirmed mutation laid over it. */
  data: Fields;
  /** 1 when `data` is a tombstone. Indexed, so live rows are counted and paged without
   *  reading them (a session may hold thousands of tags). */
  gone: 0 | 1;
}

/** An outbox entry: a mutation exactly as queued. Never edited after it is queued,
 *  except for the server's outcome once a result for its mutation_id arrives. */
export interface OutboxEntry {
  client_id: string;
  client_seq: number;
  mutation_id: string;
  entity: WritableEntity;
  op: Op;
  record_id: string;
  base_version: number | null;
  fields: Fields;
  device_time: string;
  status: EntryStatus;
  reason: string | null;
  result_version: number | null;
  conflicts: unknown[];
  settled_at: string | null;
  /** The user has seen a rejection and dismissed it from the list. */
  dismissed?: 1;
}

export type Mutation = Wire['Mutation'];
export type PushResult = Wire['MutationResult'];
export type PushResponse = Wire['PushResponse'];
export type PullResponse = Omit<Wire['PullResponse'], 'changes'> & { changes: Change[] };
export type Change = Omit<Wire['Change'], 'entity' | 'data'> & { entity: Entity; data: Fields };

export type SyncState =
  | 'idle'
  | 'syncing'
  | 'offline'
  | 'error'
  | 'signed_out'
  | 'upgrade_required';

export interface SyncStatus {
  state: SyncState;
  message: string;
  last_success_at: string | null;
  last_attempt_at: string | null;
  clock_skew_seconds: number | null;
}
