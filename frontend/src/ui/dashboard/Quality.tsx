/** Data quality: the seven checks, each with its count and the items found. */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { components } from '../../api/schema';
import { api } from '../../app/store';
import type { ScreenProps } from './Dashboard';
import { DataTable, levelName, problem, Scroll, Status, useApi } from './charts';

type DataQuality = components['schemas']['DataQuality'];
type SessionIssue = components['schemas']['SessionIssue'];
type DeviceIssue = components['schemas']['DeviceIssue'];
type ConflictPage = components['schemas']['ConflictPage'];

const when = (iso: string | null | undefined): string => (iso ? iso.slice(0, 16).replace('T', ' ') + ' UTC' : '–');
const session = (s: SessionIssue): string => `${s.meeting_title} (site ${s.site_code}, ${levelName(s.level)})`;
const hours = (h: number | null | undefined): string => (h == null ? '–' : `${h.toFixed(1)} h`);

function Check({ id, title, help, count, children }: { id: string; title: string; help: string; count: number; children: ComponentChildren }) {
  return (
    <section class={`card check ${count > 0 ? 'has-issues' : ''}`} aria-labelledby={`q-${id}`} data-testid={`check-${id}`}>
      <h2 id={`q-${id}`}>
        <span class={`pill ${count > 0 ? 'bad' : 'done'}`} data-testid={`count-${id}`}>{count}</span> {title}
      </h2>
      <p class="muted small">{help}</p>
      {count > 0 && children}
    </section>
  );
}

function Sessions({ items, caption }: { items: SessionIssue[]; caption: string }) {
  return (
    <DataTable caption={caption} head={['Meeting', 'Observer', 'Started', 'Ended', 'Observed']}
      rows={items.map((s) => [session(s), s.observer_name, when(s.started_at), when(s.ended_at), hours(s.duration_hours)])} />
  );
}

function Devices({ items, caption }: { items: DeviceIssue[]; caption: string }) {
  return (
    <DataTable caption={caption} head={['Person', 'Device', 'Last sync', 'Days silent', 'Clock skew (s)', 'Max ahead (s)']}
      rows={items.map((d) => [d.user_name, d.user_agent || '–', when(d.last_push_at ?? d.last_pull_at), d.days_since_sync == null ? 'never synced' : d.days_since_sync.toFixed(1), d.last_clock_skew_seconds?.toFixed(0) ?? '–', d.max_ahead_seconds?.toFixed(0) ?? '–'])} />
  );
}

const shown = (v: unknown): string => (v == null ? '(empty)' : typeof v === 'string' ? v : JSON.stringify(v));

/** The PI's review of open sync conflicts: keep the value that won, or restore the one it
 *  overwrote (a normal, audited change). */
function ConflictReview({ studyId, token, onDone }: { studyId: string; token: string; onDone: () => void }) {
  const state = useApi<ConflictPage>(`/studies/${studyId}/conflicts?unresolved=true&limit=100`, token);
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<{ text: string; bad: boolean } | null>(null);
  const resolve = async (id: string, resolution: 'keep_current' | 'restore_losing'): Promise<void> => {
    setBusy(id);
    try {
      await api(`/studies/${studyId}/conflicts/${id}/resolve`, { method: 'POST', body: JSON.stringify({ resolution }) }, token);
      setMessage({ bad: false, text: resolution === 'keep_current' ? 'Conflict resolved: the current value stays.' : 'Conflict resolved: the overwritten value is restored.' });
      state.reload();
      onDone();
    } catch (e) {
      setMessage({ bad: true, text: problem(e) });
    } finally {
      setBusy(null);
    }
  };
  return (
    <>
      <div role="status" aria-live="polite">{message && <p class={message.bad ? 'error' : 'ok-text'} data-testid="conflict-message">{message.text}</p>}</div>
      <Status state={state}>
        {(page) => (
          <Scroll label="Sync conflicts to review">
            <table data-testid="conflict-review">
              <caption class="sr-only">Sync conflicts to review</caption>
              <thead><tr><th scope="col">Record and field</th><th scope="col">Current (won)</th><th scope="col">Overwritten</th><th scope="col"><span class="sr-only">Action</span></th></tr></thead>
              <tbody>
                {page.items.map((c) => (
                  <tr key={c.id}>
                    <th scope="row">{c.entity} {c.record_id.slice(0, 8)} · {c.field}</th>
                    <td class="role-cell">{shown(c.winning_value)}</td>
                    <td class="role-cell">{shown(c.losing_value)}</td>
                    <td class="action-cell">
                      <span class="confirm">
                        <button type="button" class="btn small" disabled={busy === c.id} onClick={() => void resolve(c.id, 'keep_current')}>Keep current</button>
                        <button type="button" class="btn small" disabled={busy === c.id} onClick={() => void resolve(c.id, 'restore_losing')}>Restore overwritten</button>
                      </span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Scroll>
        )}
      </Status>
    </>
  );
}

export function Quality({ studyId, auth, query, setQuery, isPI }: ScreenProps) {
  const days = query.get('unsynced_days') ?? '7';
  const state = useApi<DataQuality>(`/studies/${studyId}/dashboard/quality?unsynced_days=${encodeURIComponent(days)}`, auth.token);
  return (
    <>
      <form class="dash-filters" aria-label="Thresholds" onSubmit={(e) => e.preventDefault()}>
        <label>
          Devices silent for more than (days)
          <input type="number" min="1" max="3650" step="1" value={days} onChange={(e) => e.currentTarget.value && setQuery('unsynced_days', e.currentTarget.value)} />
        </label>
      </form>
      <Status state={state}>
        {(q) => {
          const total = q.open_sessions.count + q.long_sessions.count + q.overlapping_sessions.count + q.clock_skew.count + q.unsynced_devices.count + q.unresolved_conflicts.count + q.pending_participants.count;
          return (
            <>
              <p class="dash-summary" data-testid="quality-summary">
                <strong>{total}</strong> finding{total === 1 ? '' : 's'} in seven checks · checked {when(q.checked_at)}
              </p>
              <div class="checks">
                <Check id="open" title="Sessions never ended" count={q.open_sessions.count} help={`Started more than ${q.params.open_hours} h ago and still running: the observer should end them on their tablet.`}>
                  <Sessions items={q.open_sessions.items} caption="Sessions never ended" />
                </Check>
                <Check id="long" title="Implausible durations" count={q.long_sessions.count} help={`Observed for more than ${q.params.max_hours} h (pauses excluded).`}>
                  <Sessions items={q.long_sessions.items} caption="Sessions with implausible durations" />
                </Check>
                <Check id="overlap" title="Overlapping sessions of one observer" count={q.overlapping_sessions.count} help="One person cannot observe two meetings at once.">
                  <DataTable caption="Overlapping sessions" head={['Observer', 'First', 'Second', 'Overlap']}
                    rows={q.overlapping_sessions.items.map((o) => [o.observer_name, session(o.first), session(o.second), `${o.overlap_minutes.toFixed(0)} min`])} />
                </Check>
                <Check id="skew" title="Device clock skew" count={q.clock_skew.count} help={`Devices whose clock is off by more than ${q.params.skew_seconds} s: their times may be shifted.`}>
                  <Devices items={q.clock_skew.items} caption="Devices with clock skew" />
                </Check>
                <Check id="unsynced" title={`Devices not synced for ${q.params.unsynced_days} days`} count={q.unsynced_devices.count} help="Their unsent notes are only on the tablet: ask the fieldworker to sync.">
                  <Devices items={q.unsynced_devices.items} caption="Devices not synced" />
                </Check>
                <Check id="conflicts" title="Sync conflicts awaiting review" count={q.unresolved_conflicts.count} help="Two people changed the same field offline; the later change won and the other is kept for review.">
                  {isPI ? <ConflictReview studyId={studyId} token={auth.token} onDone={state.reload} /> : (
                    <>
                      <DataTable caption="Sync conflicts awaiting review" head={['Record', 'Field', 'When', 'Won (later)', 'Overwritten']}
                        rows={q.unresolved_conflicts.items.map((c) => [`${c.entity} ${c.record_id.slice(0, 8)}`, c.field, when(c.created_at), c.winning_author ?? '–', c.losing_author ?? '–'])} />
                      <p class="small muted">The study’s PI reviews each conflict here: keep the current value or restore the overwritten one.</p>
                    </>
                  )}
                </Check>
                <Check id="stubs" title="Participant stubs awaiting review" count={q.pending_participants.count} help="Added in the field by a fieldworker; a PI checks the code, role and consent.">
                  <DataTable caption="Participant stubs awaiting review" head={['Code', 'Site', 'Level', 'Role', 'Added']}
                    rows={q.pending_participants.items.map((p) => [p.code, p.site_code, levelName(p.level), p.role_title || '–', when(p.created_at)])} />
                  <p class="small"><a href="#/dashboard/consent">Review participants and consent</a></p>
                </Check>
              </div>
            </>
          );
        }}
      </Status>
    </>
  );
}
