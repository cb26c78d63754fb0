import { useEffect, useState } from 'preact/hooks';
import { useLive } from '../app/store';
import {
  children, codebook, one, saveJournal,
  type Intervention, type FieldNote, type Journal, type Meeting, type Participant, type Session,
} from '../app/domain';
import { href } from '../app/router';
import { formatDuration, sessionClock } from '../sync/clock';

export function Summary({ id, studyId }: { id: string; studyId: string }) {
  const data = useLive(async () => {
    const session = await one<Session>('observation_session', id);
    if (!session) return { session };
    const interventions = await children<Intervention>('intervention', id);
    const pids = [...new Set(interventions.map((i) => i.participant_id))];
    return {
      session,
      meeting: await one<Meeting>('meeting', session.meeting_id),
      interventions,
      notes: await children<FieldNote>('field_note', id),
      people: (await Promise.all(pids.map((p) => one<Participant>('participant', p)))).filter((p): p is Participant => !!p),
      journal: (await children<Journal>('journal_entry', id))[0],
      book: await codebook(studyId),
    };
  }, [id, studyId], null);

  if (!data) return null;
  const { session } = data;
  if (!session) return <section class="page"><p class="card">This observation is not on this tablet.</p></section>;
  const contributions = data.book?.contributions ?? [];
  const count = (pid: string | null, key: string | null): number =>
    data.interventions.filter((i) => (pid === null || i.participant_id === pid) && (key === null || i.code_key === key)).length;
  const people = [...(data.people ?? [])].sort((a, b) => a.code.localeCompare(b.code));

  return (
    <section class="page">
      <p class="crumb"><a href={href({ name: 'meeting', id: session.meeting_id })}>{data.meeting?.title ?? 'Meeting'}</a></p>
      <div class="page-head">
        <h1>Summary</h1>
        {!session.ended_at && <a class="btn primary" href={href({ name: 'session', id })}>Back to live observation</a>}
      </div>
      <dl class="stats">
        <div><dt>Observed</dt><dd data-testid="summary-duration">{formatDuration(sessionClock(session).elapsed)}</dd></div>
        <div><dt>Interventions</dt><dd>{data.interventions.length}</dd></div>
        <div><dt>Notes</dt><dd>{data.notes?.length ?? 0}</dd></div>
        <div><dt>Pauses</dt><dd>{session.pauses.length}</dd></div>
      </dl>
      <section aria-labelledby="matrix-h" class="card">
        <h2 id="matrix-h">Interventions by leader and contribution</h2>
        <div class="table-wrap">
          <table>
            <thead>
              <tr><th scope="col">Leader</th>{contributions.map((c) => <th scope="col" key={c.key}>{c.label}</th>)}<th scope="col">Total</th></tr>
            </thead>
            <tbody>
              {people.map((p) => (
                <tr key={p.id}>
                  <th scope="row">{p.code}</th>
                  {contributions.map((c) => <td key={c.key}>{count(p.id, c.key) || ''}</td>)}
                  <td><strong>{count(p.id, null)}</strong></td>
                </tr>
              ))}
              {people.length === 0 && <tr><td colSpan={contributions.length + 2} class="muted">No interventions tagged.</td></tr>}
            </tbody>
            {people.length > 0 && (
              <tfoot><tr><th scope="row">All</th>{contributions.map((c) => <td key={c.key}>{count(null, c.key)}</td>)}<td><strong>{data.interventions.length}</strong></td></tr></tfoot>
            )}
          </table>
        </div>
      </section>
      <JournalEditor sessionId={id} journal={data.journal} />
    </section>
  );
}

function JournalEditor({ sessionId, journal }: { sessionId: string; journal: Journal | undefined }) {
  const [text, setText] = useState(journal?.text ?? '');
  const [saved, setSaved] = useState<string | null>(null);
  useEffect(() => {
    if (journal && !text) setText(journal.text);
    // Only take the stored text in when the editor is still empty.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [journal?.id]);
  const dirty = text !== (journal?.text ?? '');
  const save = async (): Promise<void> => {
    await saveJournal(sessionId, text);
    setSaved(new Date().toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }));
  };
  return (
    <section class="card" aria-labelledby="journal-h">
      <h2 id="journal-h">Field journal write-up</h2>
      <p class="muted">Write up the running notes while the meeting is fresh. Saved on this tablet; synced with everything else.</p>
      <label class="sr-only" for="journal">Field journal</label>
      <textarea id="journal" rows={12} value={text} onInput={(e) => setText(e.currentTarget.value)} onBlur={() => { if (dirty) void save(); }} />
      <div class="actions">
        <span class="muted small" role="status">{dirty ? 'Unsaved edits' : saved ? `Saved at ${saved}` : journal ? 'Saved' : ''}</span>
        <button type="button" class="btn primary" disabled={!dirty} onClick={() => void save()}>Save write-up</button>
      </div>
    </section>
  );
}
