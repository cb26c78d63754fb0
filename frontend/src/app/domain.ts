/** The fieldworker's records as the UI uses them, and every action that changes them.
 *  Each action is one `mutate` call: the local change and its outbox entry commit together. */
import { isStaleSeq, mutate, uuid7, type LocalChange, type Entity, type Fields, type LocalRecord, type Pause, type WritableEntity } from '../sync';
import { monoIso, monoNow, sessionClock } from '../sync/clock';
import { db, engine } from './store';

/** Record a change (with its outbox entry) and ask for a sync soon (throttled; not a Dexie
 *  hook, which would slow every write). */
async function save(change: LocalChange, guessSeq = false): Promise<void> {
  await mutate(db, change, { guessSeq });
  engine.nudge();
}

export type Level = 'executive' | 'thematic' | 'project';
export const LEVELS: Level[] = ['executive', 'thematic', 'project'];
export const NOTE_KINDS = [
  ['observation', 'Observation'],
  ['reflection', 'Reflection'],
  ['informal_interview', 'Informal field interview'],
] as const;
export type NoteKind = (typeof NOTE_KINDS)[number][0];

export interface Study { id: string; name: string; slug: string }
export interface Site { id: string; study_id: string; code: string; name: string; target_hours: number; target_meetings: number }
export interface Participant {
  id: string; study_id: string; site_id: string; code: string; role_title: string; level: Level | null;
  background: string; is_clinical_leader: boolean; consent: 'consented' | 'declined' | 'withdrawn'; pending_review?: boolean;
}
export interface Meeting {
  id: string; study_id: string; site_id: string; level: Level; title: string; theme: string;
  scheduled_start: string | null; location: string; stage_of_change: 'strategy' | 'delivery' | null;
}
export interface Attendee { id: string; meeting_id: string; participant_id: string }
export interface Session {
  id: string; meeting_id: string; started_at: string; ended_at: string | null; pauses: Pause[];
  retrospective: boolean; device_started_at: string | null; duration_seconds?: number | null; observer_id?: string;
  site_id?: string;
}
export interface Intervention {
  id: string; session_id: string; participant_id: string; codebook_version_id: string; code_key: string;
  form_key: string | null; offset_seconds: number; device_time: string; quote: string; note: string; agenda_item: string;
}
export interface FieldNote { id: string; session_id: string; kind: NoteKind; offset_seconds: number | null; device_time: string; text: string }
export interface Journal { id: string; session_id: string; text: string }
export interface CodebookVersion { id: string; study_id: string; number: number; label: string; published_at: string | null }
export interface Code { id: string; codebook_version_id: string; key: string; parent_key: string | null; label: string; description: string; group: string; colour: string; sort_order: number; retired: boolean }

const live = (r: LocalRecord): boolean => !r.data['deleted_at'];

/** Live children of a parent, in id (= creation, UUIDv7) order. */
export async function children<T>(entity: Entity, parent: string): Promise<T[]> {
  const rows = await db.records.where('[entity+parent+gone]').equals([entity, parent, 0]).toArray();
  return rows.map((r) => r.data as unknown as T);
}

export function countChildren(entity: Entity, parent: string): Promise<number> {
  return db.records.where('[entity+parent+gone]').equals([entity, parent, 0]).count();
}

/** The newest `n` live children, newest first, read from the index end. */
export async function latestChildren<T>(entity: Entity, parent: string, n: number): Promise<T[]> {
  const rows = await db.records.where('[entity+parent+gone]').equals([entity, parent, 0]).reverse().limit(n).toArray();
  return rows.map((r) => r.data as unknown as T);
}

export async function one<T>(entity: Entity, id: string): Promise<T | undefined> {
  const row = await db.records.get([entity, id]);
  return row && live(row) ? (row.data as unknown as T) : undefined;
}

export async function allOf<T>(entity: Entity): Promise<T[]> {
  const rows = await db.records.where('entity').equals(entity).toArray();
  return rows.filter(live).map((r) => r.data as unknown as T);
}

/** The latest published codebook of a study and its contribution codes, in order. */
export async function codebook(studyId: string): Promise<{ version: CodebookVersion; contributions: Code[]; forms: Code[] } | null> {
  const versions = (await children<CodebookVersion>('codebook_version', studyId)).filter((v) => v.published_at);
  versions.sort((a, b) => b.number - a.number);
  const version = versions[0];
  if (!version) return null;
  const codes = (await children<Code>('code', version.id)).filter((c) => !c.retired);
  codes.sort((a, b) => a.sort_order - b.sort_order);
  return {
    version,
    contributions: codes.filter((c) => c.group === 'contribution' && !c.parent_key),
    forms: codes.filter((c) => c.group === 'contribution' && c.parent_key),
  };
}

// A stub added in the field has no consent value until the server's copy arrives (consented).
export const canTag = (p: Participant): boolean => p.consent !== 'declined' && p.consent !== 'withdrawn';

// --- meetings -------------------------------------------------------------------------

export async function createMeeting(fields: Omit<Meeting, 'id'>): Promise<string> {
  const id = uuid7();
  await save({ entity: 'meeting', id, fields: { ...fields } });
  return id;
}

/** Read and write in one transaction, so two quick taps cannot add the same attendee twice. */
export async function setAttendance(meetingId: string, participantId: string, present: boolean): Promise<void> {
  await db.transaction('rw', [db.meta, db.records, db.outbox], async () => {
    const existing = (await children<Attendee>('meeting_attendee', meetingId)).find((a) => a.participant_id === participantId);
    if (present && !existing) {
      await save({ entity: 'meeting_attendee', id: uuid7(), isNew: true, fields: { meeting_id: meetingId, participant_id: participantId } });
    } else if (!present && existing) {
      await save({ entity: 'meeting_attendee', id: existing.id, op: 'delete' });
    }
  });
}

export async function addParticipantStub(fields: Omit<Participant, 'id' | 'consent'>, meetingId: string): Promise<string> {
  const id = uuid7();
  await save({ entity: 'participant', id, fields: { ...fields } });
  await setAttendance(meetingId, id, true);
  return id;
}

// --- observation ------------------------------------------------------------------------

/** Start observing, or return the session already running for this meeting on this device
 *  (a double tap on "Start" must not open two). */
export async function startSession(meetingId: string): Promise<string> {
  return db.transaction('rw', [db.meta, db.records, db.outbox], async () => {
    const me = (await db.meta.get('user_id'))?.value;
    const running = (await children<Session>('observation_session', meetingId))
      .find((s) => !s.ended_at && (!s.observer_id || s.observer_id === me));
    if (running) return running.id;
    const id = uuid7();
    await save({
      entity: 'observation_session', id, isNew: true,
      fields: { meeting_id: meetingId, started_at: monoIso(), ended_at: null, pauses: [], retrospective: false, device_started_at: new Date().toISOString() },
    });
    return id;
  });
}

export async function pauseSession(s: Session): Promise<void> {
  const prev = s.pauses;
  await save({ entity: 'observation_session', id: s.id, fields: { pauses: [...prev, { start: monoIso(), end: null }] } });
  await rememberUndo(s.id, { label: 'Pause', entity: 'observation_session', id: s.id, restore: { pauses: prev } });
}

export async function resumeSession(s: Session): Promise<void> {
  const prev = s.pauses;
  const now = monoIso();
  const pauses = prev.map((p) => (p.end ? p : { ...p, end: now }));
  await save({ entity: 'observation_session', id: s.id, fields: { pauses } });
  await rememberUndo(s.id, { label: 'Resume', entity: 'observation_session', id: s.id, restore: { pauses: prev } });
}

export async function endSession(s: Session): Promise<void> {
  const now = monoIso();
  const pauses = s.pauses.map((p) => (p.end ? p : { ...p, end: now }));
  await save({ entity: 'observation_session', id: s.id, fields: { ended_at: now, pauses } });
  await db.meta.delete(`undo:${s.id}`);
}

export function offsetNow(s: Session): number {
  return Math.round(sessionClock(s, monoNow()).offset * 10) / 10;
}

/** Tag one intervention. Returns the new record's id and when IndexedDB committed it
 *  (the transaction's `complete` event, before Dexie's own follow-up work). */
export async function tag(s: Session, participantId: string, versionId: string, code: Code): Promise<{ id: string; committedAt: number }> {
  const id = uuid7();
  const fields = {
    session_id: s.id, participant_id: participantId, codebook_version_id: versionId, code_key: code.key,
    form_key: null, offset_seconds: offsetNow(s), device_time: new Date().toISOString(), quote: '', note: '', agenda_item: '',
  };
  let committedAt = 0;
  // One transaction, one commit: the tag, its outbox entry and the undo note.
  const write = (guessSeq: boolean): Promise<unknown> =>
    mutate(db, { entity: 'intervention', id, isNew: true, fields }, {
      guessSeq,
      meta: [{ key: `undo:${s.id}`, value: { label: `Tag ${code.label}`, entity: 'intervention', id, restore: null } satisfies Undo }],
      onCommitted: (at) => { committedAt = at; },
    });
  try {
    await write(true);
  } catch (e) {
    // A wrong seq guess (another tab wrote meanwhile) aborts the transaction, reported as
    // StaleSeq or as the clashing insert's ConstraintError. Nothing was committed, so the
    // same tag is written again, reading the seq first.
    if (committedAt) throw e;
    if (!isStaleSeq(e)) console.info('fieldscope: retrying a tag after', e);
    await write(false);
  }
  engine.nudge();
  return { id, committedAt: committedAt || performance.now() };
}

export async function refineTag(sessionId: string, i: Intervention, fields: Partial<Pick<Intervention, 'form_key' | 'quote'>>): Promise<void> {
  const changed: Fields = {};
  const restore: Fields = {};
  for (const [k, v] of Object.entries(fields)) {
    if ((i as unknown as Fields)[k] !== v) { changed[k] = v; restore[k] = (i as unknown as Fields)[k]; }
  }
  if (!Object.keys(changed).length) return;
  await save({ entity: 'intervention', id: i.id, fields: changed });
  await rememberUndo(sessionId, { label: 'Edit tag', entity: 'intervention', id: i.id, restore });
}

export async function addNote(s: Session, kind: NoteKind, text: string): Promise<void> {
  const id = uuid7();
  await save({
    entity: 'field_note', id,
    fields: { session_id: s.id, kind, offset_seconds: offsetNow(s), device_time: new Date().toISOString(), text },
  });
  await rememberUndo(s.id, { label: 'Note', entity: 'field_note', id, restore: null });
}

/** One write-up per session: look it up inside the transaction, not from the screen's copy,
 *  so a blur and a click in quick succession edit one entry instead of creating two. */
export async function saveJournal(sessionId: string, text: string): Promise<void> {
  await db.transaction('rw', [db.meta, db.records, db.outbox], async () => {
    const existing = (await children<Journal>('journal_entry', sessionId))[0];
    if (existing) {
      if (existing.text !== text) await save({ entity: 'journal_entry', id: existing.id, fields: { text } });
    } else {
      await save({ entity: 'journal_entry', id: uuid7(), isNew: true, fields: { session_id: sessionId, text } });
    }
  });
}

// --- undo: the last action of a session, kept in IndexedDB so it survives a reload --------

export interface Undo { label: string; entity: WritableEntity; id: string; restore: Fields | null }

async function rememberUndo(sessionId: string, u: Undo): Promise<void> {
  await db.meta.put({ key: `undo:${sessionId}`, value: u });
}

/** Undo is a new change (a delete, or the previous values), never an edit of the outbox. */
export async function undoLast(sessionId: string): Promise<string | null> {
  const u = (await db.meta.get(`undo:${sessionId}`))?.value as Undo | undefined;
  if (!u) return null;
  if (u.restore === null) await save({ entity: u.entity, id: u.id, op: 'delete' });
  else await save({ entity: u.entity, id: u.id, fields: u.restore });
  await db.meta.delete(`undo:${sessionId}`);
  return u.label;
}
