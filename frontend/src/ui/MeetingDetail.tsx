import { useState } from 'preact/hooks';
import { useLive, useMeta } from '../app/store';
import {
  addParticipantStub, canTag, children, LEVELS, one, setAttendance, startSession,
  type Attendee, type Level, type Meeting, type Participant, type Session, type Site,
} from '../app/domain';
import { go, href } from '../app/router';
import { formatDuration, sessionClock } from '../sync/clock';
import { levelLabel, when } from './Meetings';

const BACKGROUNDS = ['medicine', 'nursing', 'pharmacy', 'occupational_therapy', 'midwifery', 'general_practice', 'other_clinical', 'non_clinical'];
const pretty = (s: string): string => s.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

export function consentNote(p: Participant): string | null {
  if (p.consent === 'declined') return 'Consent declined: cannot be tagged';
  if (p.consent === 'withdrawn') return 'Consent withdrawn: cannot be tagged';
  return null;
}

export function MeetingDetail({ id, studyId }: { id: string; studyId: string }) {
  const data = useLive(async () => {
    const meeting = await one<Meeting>('meeting', id);
    return {
      meeting,
      site: meeting ? await one<Site>('site', meeting.site_id) : undefined,
      participants: meeting ? (await children<Participant>('participant', studyId)).filter((p) => p.site_id === meeting.site_id) : [],
      attendees: await children<Attendee>('meeting_attendee', id),
      sessions: await children<Session>('observation_session', id),
    };
  }, [id, studyId], null);
  const [adding, setAdding] = useState(false);
  const me = useMeta<string>('user_id');

  if (!data) return null;
  const { meeting, site, participants, attendees, sessions } = data;
  if (!meeting) return <section class="page"><p class="card">This meeting is not on this tablet. <a href="#/meetings">Back to meetings</a></p></section>;
  const present = new Set(attendees.map((a) => a.participant_id));
  // Only this person's running session is theirs to resume (a PI also sees others').
  const running = sessions.find((s) => !s.ended_at && (!s.observer_id || s.observer_id === me));
  const sorted = [...participants].sort((a, b) => Number(b.is_clinical_leader) - Number(a.is_clinical_leader) || a.code.localeCompare(b.code));

  const start = async (): Promise<void> => go({ name: 'session', id: await startSession(meeting.id) });

  return (
    <section class="page">
      <div class="page-head">
        <div>
          <p class="crumb"><a href="#/meetings">Meetings</a></p>
          <h1>{meeting.title}</h1>
          <p class="meta">
            <span class="pill">Site {site?.code ?? '?'}</span>
            <span class="pill">{levelLabel(meeting.level)}</span>
            {meeting.theme && <span class="pill">{meeting.theme}</span>}
            {meeting.stage_of_change && <span class="pill">{meeting.stage_of_change === 'strategy' ? 'Strategy setting' : 'Delivery'}</span>}
            <span class="muted">{when(meeting.scheduled_start)}{meeting.location ? ` · ${meeting.location}` : ''}</span>
          </p>
        </div>
        {running ? (
          <a class="btn primary big" href={href({ name: 'session', id: running.id })}>Resume observation</a>
        ) : (
          <button type="button" class="btn primary big" onClick={() => void start()}>Start observation</button>
        )}
      </div>

      {sessions.filter((s) => s.ended_at).length > 0 && (
        <section aria-labelledby="sessions-h">
          <h2 id="sessions-h">Observed</h2>
          <ul class="list">
            {sessions.filter((s) => s.ended_at).map((s) => (
              <li key={s.id}>
                <a class="row-button" href={href({ name: 'summary', id: s.id })}>
                  <span class="title">{new Date(s.started_at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}</span>
                  <span class="muted">{formatDuration(sessionClock(s).elapsed)} observed · summary and journal</span>
                </a>
              </li>
            ))}
          </ul>
        </section>
      )}

      <section aria-labelledby="att-h">
        <div class="page-head">
          <h2 id="att-h">Attendees <span class="muted small">({present.size} selected)</span></h2>
          <button type="button" class="btn" onClick={() => setAdding(!adding)} aria-expanded={adding}>Add a participant</button>
        </div>
        {adding && <ParticipantForm studyId={studyId} siteId={meeting.site_id} meetingId={meeting.id} onDone={() => setAdding(false)} />}
        {sorted.length === 0 && <p class="card empty">No participants for this site on this tablet yet. Add one on the spot; a PI reviews it later.</p>}
        <ul class="attendee-list">
          {sorted.map((p) => {
            const note = consentNote(p);
            return (
              <li key={p.id}>
                <label class={`check-row ${present.has(p.id) ? 'on' : ''} ${note ? 'blocked' : ''}`}>
                  <input
                    type="checkbox"
                    checked={present.has(p.id)}
                    disabled={!canTag(p) && !present.has(p.id)}
                    onChange={(e) => void setAttendance(meeting.id, p.id, e.currentTarget.checked)}
                  />
                  <span class="code">{p.code}</span>
                  <span class="role">{p.role_title || pretty(p.background)}</span>
                  <span class="tags">
                    {p.level && <span class="pill">{levelLabel(p.level)}</span>}
                    {p.is_clinical_leader && <span class="pill clinical">Clinical leader</span>}
                    {p.pending_review && <span class="pill">Awaiting review</span>}
                    {note && <span class="pill bad">{note}</span>}
                  </span>
                </label>
              </li>
            );
          })}
        </ul>
      </section>
    </section>
  );
}

function ParticipantForm({ studyId, siteId, meetingId, onDone }: { studyId: string; siteId: string; meetingId: string; onDone: () => void }) {
  const [code, setCode] = useState('');
  const [role, setRole] = useState('');
  const [level, setLevel] = useState<Level | ''>('');
  const [background, setBackground] = useState('medicine');
  const [leader, setLeader] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const save = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (!code.trim()) return setError('Give a pseudonym code, e.g. A-PR-07. Never a name.');
    await addParticipantStub({
      study_id: studyId, site_id: siteId, code: code.trim(), role_title: role.trim(), level: level || null,
      background, is_clinical_leader: leader,
    }, meetingId);
    onDone();
  };
  return (
    <form class="card form" onSubmit={(e) => void save(e)} aria-label="New participant">
      <p class="muted">Pseudonym code only, never a name. The PI reviews participants added here.</p>
      <div class="two">
        <label>Pseudonym code<input name="code" value={code} onInput={(e) => setCode(e.currentTarget.value)} /></label>
        <label>Role<input name="role" value={role} onInput={(e) => setRole(e.currentTarget.value)} placeholder="e.g. Clinical director" /></label>
      </div>
      <div class="two">
        <label>Level
          <select name="level" value={level} onChange={(e) => setLevel(e.currentTarget.value as Level | '')}>
            <option value="">Not known</option>
            {LEVELS.map((l) => <option key={l} value={l}>{levelLabel(l)}</option>)}
          </select>
        </label>
        <label>Background
          <select name="background" value={background} onChange={(e) => setBackground(e.currentTarget.value)}>
            {BACKGROUNDS.map((b) => <option key={b} value={b}>{pretty(b)}</option>)}
          </select>
        </label>
      </div>
      <label class="inline"><input type="checkbox" checked={leader} onChange={(e) => setLeader(e.currentTarget.checked)} /> Clinical leader</label>
      {error && <p class="error" role="alert">{error}</p>}
      <div class="actions">
        <button type="button" class="btn" onClick={onDone}>Cancel</button>
        <button type="submit" class="btn primary">Add and mark present</button>
      </div>
    </form>
  );
}
