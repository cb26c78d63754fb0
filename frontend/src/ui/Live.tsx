/** Live observation: the screen a fieldworker holds through a meeting. A plain tag is two
 *  taps (leader, contribution) or one key (1–4) once a leader is selected. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { useLive, useMeta } from '../app/store';
import {
  addNote, canTag, children, codebook, countChildren, latestChildren, endSession, NOTE_KINDS, one, pauseSession, refineTag, resumeSession, tag, undoLast,
  type Attendee, type Code, type FieldNote, type Intervention, type Meeting, type NoteKind, type Participant, type Session, type Undo,
} from '../app/domain';
import { go, href } from '../app/router';
import { formatDuration, sessionClock } from '../sync/clock';

const TIMELINE = 40;

declare global {
  interface Window { __fieldscopeTapMs?: number[]; __fieldscopeTapPhases?: { wait: number; write: number }[] }
}

function Clock({ session }: { session: Session }) {
  const [, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, []);
  const c = sessionClock(session);
  return (
    <div class={`clock ${c.paused ? 'paused' : ''}`} role="timer" aria-label="Observed time">
      <span data-testid="clock">{formatDuration(c.elapsed)}</span>
      <span class="clock-state">{session.ended_at ? 'Ended' : c.paused ? 'Paused' : 'Observing'}</span>
    </div>
  );
}

export function Live({ id, studyId }: { id: string; studyId: string }) {
  // Two live queries: a tag changes only the timeline's reads, so the session, attendees and
  // codebook are not read again (nor the screen rebuilt from them) after every tap.
  const base = useLive(async () => {
    const session = await one<Session>('observation_session', id);
    if (!session) return { session };
    const meeting = await one<Meeting>('meeting', session.meeting_id);
    const attendees = await children<Attendee>('meeting_attendee', session.meeting_id);
    const people = await Promise.all(attendees.map((a) => one<Participant>('participant', a.participant_id)));
    return {
      session, meeting,
      people: people.filter((p): p is Participant => !!p).sort((a, b) => Number(b.is_clinical_leader) - Number(a.is_clinical_leader) || a.code.localeCompare(b.code)),
      book: await codebook(studyId),
    };
  }, [id, studyId], null);
  const recent = useLive(async () => {
    const [interventions, notes, tagCount] = await Promise.all([
      latestChildren<Intervention>('intervention', id, TIMELINE),
      latestChildren<FieldNote>('field_note', id, TIMELINE),
      countChildren('intervention', id),
    ]);
    return { interventions, notes, tagCount };
  }, [id], null);
  const data = base && recent ? { ...base, ...recent } : null;
  const undo = useMeta<Undo>(`undo:${id}`);
  const [leader, setLeaderState] = useState<string | null>(() => localStorage.getItem(`fieldscope:leader:${id}`));
  const [noteKind, setNoteKind] = useState<NoteKind>('observation');
  const [noteText, setNoteText] = useState('');
  const [confirmEnd, setConfirmEnd] = useState(false);
  const [flash, setFlash] = useState<string | null>(null);
  const noteRef = useRef<HTMLTextAreaElement>(null);
  const pointerTagAt = useRef(-Infinity);
  // The selected leader lives in a ref too: a key pressed right after a tap must tag the
  // leader just tapped, even before the screen has re-rendered.
  const leaderRef = useRef(leader);
  const setLeader = (pid: string | null): void => {
    leaderRef.current = pid;
    setLeaderState(pid);
    if (pid) localStorage.setItem(`fieldscope:leader:${id}`, pid);
    else localStorage.removeItem(`fieldscope:leader:${id}`);
  };

  const session = data?.session;
  const book = data?.book;
  const contributions = book?.contributions.slice(0, 4) ?? [];
  const taggable = (data?.people ?? []).filter(canTag);
  const selected = taggable.find((p) => p.id === leader) ?? null;
  const ended = !!session?.ended_at;

  const doTag = async (code: Code, startedAt: number): Promise<void> => {
    const who = taggable.find((p) => p.id === leaderRef.current);
    if (!session || !book || !who || ended) return;
    const handled = performance.now();
    let done: number;
    try {
      done = (await tag(session, who.id, book.version.id, code)).committedAt;
    } catch (err) {
      // Never lose a tap silently.
      setFlash(`NOT SAVED: ${who.code} · ${code.label} (${err instanceof Error ? err.message : 'storage error'}). Tap again.`);
      return;
    }
    // Tap -> commit, and its two parts (waiting for the main thread; the write), for the bench.
    (window.__fieldscopeTapMs ??= []).push(done - startedAt);
    (window.__fieldscopeTapPhases ??= []).push({ wait: handled - startedAt, write: done - handled });
    setFlash(`Saved: ${who.code} · ${code.label}`);
  };

  const doUndo = async (): Promise<void> => {
    const label = await undoLast(id);
    if (label) setFlash(`Undone: ${label}`);
  };

  // One listener for the screen's life, always calling this render's handler.
  const onKeyRef = useRef<(e: KeyboardEvent) => void>(() => undefined);
  onKeyRef.current = (e: KeyboardEvent): void => {
    const t = e.target as HTMLElement | null;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const n = Number(e.key);
    if (n >= 1 && n <= 4 && contributions[n - 1]) {
      e.preventDefault();
      void doTag(contributions[n - 1]!, e.timeStamp);
    } else if (e.key === 'u') {
      e.preventDefault();
      void doUndo();
    } else if (e.key === 'n') {
      e.preventDefault();
      noteRef.current?.focus();
    }
  };
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => onKeyRef.current(e);
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => {
    if (!flash || flash.startsWith('NOT SAVED')) return; // a failure stays until the next action
    const t = setTimeout(() => setFlash(null), 2500);
    return () => clearTimeout(t);
  }, [flash]);

  useEffect(() => {
    if (data?.session && !performance.getEntriesByName('fieldscope:live-ready').length) performance.mark('fieldscope:live-ready');
  }, [data]);

  if (!data) return null;
  if (!session) return <section class="page"><p class="card">This observation is not on this tablet. <a href="#/meetings">Back to meetings</a></p></section>;
  const clock = sessionClock(session);
  const byId = new Map(data.people.map((p) => [p.id, p]));
  const codeOf = new Map((book ? [...book.contributions, ...book.forms] : []).map((c) => [c.key, c]));
  const timeline = [
    ...data.interventions.map((i) => ({ kind: 'tag' as const, at: i.offset_seconds, id: i.id, i })),
    ...data.notes.map((n) => ({ kind: 'note' as const, at: n.offset_seconds ?? 0, id: n.id, n })),
  ].sort((a, b) => b.at - a.at || (b.id > a.id ? 1 : -1)).slice(0, TIMELINE);
  const last = data.interventions[0];
  const lastForms = last ? (book?.forms ?? []).filter((f) => f.parent_key === last.code_key) : [];

  const saveNote = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (!noteText.trim()) return;
    await addNote(session, noteKind, noteText.trim());
    setNoteText('');
    setFlash('Note saved');
  };

  return (
    <section class="live">
      <div class="live-head">
        <div class="live-title">
          <p class="crumb"><a href={href({ name: 'meeting', id: session.meeting_id })}>{data.meeting?.title ?? 'Meeting'}</a></p>
          <h1 class="sr-only">Live observation</h1>
          <Clock session={session} />
        </div>
        <div class="live-controls">
          {!ended && (clock.paused
            ? <button type="button" class="btn big" onClick={() => void resumeSession(session)}>Resume</button>
            : <button type="button" class="btn big" onClick={() => void pauseSession(session)}>Pause</button>)}
          {!ended && !confirmEnd && <button type="button" class="btn big" onClick={() => setConfirmEnd(true)}>End</button>}
          {!ended && confirmEnd && (
            <>
              <button type="button" class="btn big danger" onClick={() => void endSession(session).then(() => go({ name: 'summary', id }))}>Confirm end</button>
              <button type="button" class="btn big" onClick={() => setConfirmEnd(false)}>Keep observing</button>
            </>
          )}
          {ended && <a class="btn big primary" href={href({ name: 'summary', id })}>Summary</a>}
        </div>
      </div>

      <div class="live-body">
        <div class="live-main">
          <section aria-labelledby="who-h">
            <h2 id="who-h" class="label">1 · Who spoke <span class="muted small">({data.tagCount} tagged)</span></h2>
            {data.people.length === 0 && <p class="card empty">No attendees yet. <a href={href({ name: 'meeting', id: session.meeting_id })}>Choose attendees</a>.</p>}
            <div class="leaders" role="radiogroup" aria-label="Attendee">
              {data.people.map((p) => (
                <button
                  key={p.id}
                  type="button"
                  role="radio"
                  aria-checked={leader === p.id}
                  class={`leader ${leader === p.id ? 'on' : ''}`}
                  disabled={!canTag(p)}
                  onClick={() => setLeader(leader === p.id ? null : p.id)}
                >
                  <span class="code">{p.code}</span>
                  <span class="role">{canTag(p) ? (p.role_title || (p.is_clinical_leader ? 'Clinical leader' : 'Attendee')) : 'No consent: not taggable'}</span>
                </button>
              ))}
            </div>
          </section>

          <section aria-labelledby="what-h">
            <h2 id="what-h" class="label">2 · Contribution {selected ? <span class="muted small">for {selected.code}</span> : <span class="muted small">(choose who spoke first)</span>}</h2>
            <div class="contributions">
              {contributions.map((c, n) => (
                <button
                  key={c.key}
                  type="button"
                  class="contribution"
                  style={{ '--c': c.colour || '#333' }}
                  disabled={!selected || ended}
                  // A finger or pen tags on lift (pointerup: a pan turns into pointercancel, so a
                  // scroll never tags), before the browser's synthesised mouse events and click.
                  onPointerUp={(e) => {
                    if (e.pointerType === 'mouse') return;
                    pointerTagAt.current = e.timeStamp;
                    void doTag(c, e.timeStamp);
                  }}
                  onClick={(e) => {
                    if (e.timeStamp - pointerTagAt.current < 1000) return; // the same tap's click
                    void doTag(c, e.timeStamp);
                  }}
                  // Keep focus where it is on a tap: no focus change to restyle mid-write.
                  onMouseDown={(e) => e.preventDefault()}
                  // The tap is handled on pointerup: cancel the mouse events and click the browser
                  // would synthesise from it, and the frames they cost while the write is in flight.
                  onTouchEnd={(e) => { if (e.cancelable) e.preventDefault(); }}
                  aria-keyshortcuts={String(n + 1)}
                >
                  <span class="key" aria-hidden="true">{n + 1}</span>
                  <span class="name">{c.label}</span>
                  <span class="desc">{c.description}</span>
                </button>
              ))}
              {!book && <p class="card empty">The codebook has not reached this tablet yet: sync once while online.</p>}
            </div>
          </section>

          <div class="undo-row">
            <button type="button" class="btn" onClick={() => void doUndo()} disabled={!undo} aria-keyshortcuts="u">
              Undo{undo ? `: ${undo.label}` : ''}
            </button>
            <p class={`flash ${flash?.startsWith('NOT SAVED') ? 'bad' : ''}`} role="status" aria-live="polite">{flash ?? ''}</p>
          </div>

          {last && !ended && (
            <section class="card refine" aria-labelledby="refine-h">
              <h2 id="refine-h" class="label">Optional, for the last tag: {byId.get(last.participant_id)?.code} · {codeOf.get(last.code_key)?.label}</h2>
              <div class="chips" role="group" aria-label="Form">
                {lastForms.map((f) => (
                  <button key={f.key} type="button" class={`chip ${last.form_key === f.key ? 'on' : ''}`} aria-pressed={last.form_key === f.key}
                    onClick={() => void refineTag(id, last, { form_key: last.form_key === f.key ? null : f.key })}>
                    {f.label}
                  </button>
                ))}
              </div>
              <QuoteBox key={last.id} onSave={(quote) => void refineTag(id, last, { quote })} initial={last.quote} />
            </section>
          )}
        </div>

        <aside class="live-side">
          <form class="card note-box" onSubmit={(e) => void saveNote(e)} aria-labelledby="note-h">
            <h2 id="note-h" class="label">Quick note</h2>
            <div class="segmented small" role="radiogroup" aria-label="Kind of note">
              {NOTE_KINDS.map(([k, label]) => (
                <button key={k} type="button" role="radio" aria-checked={noteKind === k} class={noteKind === k ? 'on' : ''} onClick={() => setNoteKind(k)}>{label}</button>
              ))}
            </div>
            <label class="sr-only" for="note-text">Note text</label>
            <textarea id="note-text" ref={noteRef} rows={3} value={noteText} onInput={(e) => setNoteText(e.currentTarget.value)}
              onKeyDown={(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void saveNote(e); }} placeholder="What happened? (Ctrl+Enter saves)" />
            <button type="submit" class="btn primary wide" disabled={!noteText.trim()}>Save note</button>
          </form>

          <section aria-labelledby="tl-h">
            <h2 id="tl-h" class="label">Timeline</h2>
            <ol class="timeline" data-testid="timeline" tabIndex={0} aria-label="Timeline, newest first">
              {timeline.map((t) => t.kind === 'tag' ? (
                <li key={t.id} class="tl-tag" style={{ '--c': codeOf.get(t.i.code_key)?.colour ?? '#333' }}>
                  <span class="tl-time">{formatDuration(t.at)}</span>
                  <span><strong>{byId.get(t.i.participant_id)?.code ?? '?'}</strong> · {codeOf.get(t.i.code_key)?.label ?? t.i.code_key}
                    {t.i.form_key && <span class="muted"> · {codeOf.get(t.i.form_key)?.label ?? t.i.form_key}</span>}
                    {t.i.quote && <q>{t.i.quote}</q>}</span>
                </li>
              ) : (
                <li key={t.id} class="tl-note">
                  <span class="tl-time">{formatDuration(t.at)}</span>
                  <span><span class="pill">{NOTE_KINDS.find(([k]) => k === t.n.kind)?.[1] ?? t.n.kind}</span> {t.n.text}</span>
                </li>
              ))}
              {timeline.length === 0 && <li class="muted empty-row">Tags and notes appear here, newest first.</li>}
            </ol>
          </section>
        </aside>
      </div>
    </section>
  );
}

function QuoteBox({ initial, onSave }: { initial: string; onSave: (q: string) => void }) {
  const [q, setQ] = useState(initial);
  return (
    <form class="quote" onSubmit={(e) => { e.preventDefault(); onSave(q.trim()); }}>
      <label class="grow">Quote<input value={q} onInput={(e) => setQ(e.currentTarget.value)} placeholder="Words worth keeping verbatim" /></label>
      <button type="submit" class="btn" disabled={q.trim() === initial}>Save quote</button>
    </form>
  );
}
