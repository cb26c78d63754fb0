/** Shapes of the sync protocol (docs/sync-protocol.md) and of what the device stores. */

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
}

/** An outbox entry: a mutation exactly as queued. Never edited after it is queued,
 *  except for the server's outcome once a result for its mutation_id arrives. */
export interface OutboxEntry {
  client_id: string;
  client_seq: number;
  mutation_id: string;
  entity: Entity;
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

export interface Mutation {
  mutation_id: string;
  client_seq: number;
  entity: Entity;
  op: Op;
  record_id: string;
  base_version: number | null;
  fields: Fields;
  device_time: string;
}

export interface PushResult {
  mutation_id: string;
  client_seq: number;
  outcome: Outcome;
  reason: string | null;
  record_id: string;
  version: number | null;
  conflicts: unknown[];
}

export interface PushResponse {
  server_time: string;
  server_epoch: string;
  last_seq: number;
  clock_skew_seconds: number | null;
  results: PushResult[];
}

export interface Change {
  cursor: number;
  entity: Entity;
  op: Op;
  record_id: string;
  version: number;
  data: Fields;
}

export interface PullResponse {
  server_epoch: string;
  server_time: string;
  reset: boolean;
  changes: Change[];
  next_cursor: number;
  has_more: boolean;
  totals?: unknown;
}

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
