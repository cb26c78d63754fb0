/** Consent: every participant's consent; a PI withdraws it (after a confirmation) or, only a
 *  PI, restores it. From then on their interventions and quotes leave every matrix and export
 *  (the server enforces it and audits the change). Analysts see the list read-only. */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { components } from '../../api/schema';
import { api } from '../../app/store';
import type { ScreenProps } from './Dashboard';
import { levelName, problem, Scroll, Status, useApi } from './charts';

type Participant = components['schemas']['ParticipantOut'];
interface Page { items: Participant[]; total: number }

const CONSENT: Record<string, string> = { consented: 'Consented', declined: 'Declined', withdrawn: 'Withdrawn' };
const today = (): string => new Date().toISOString().slice(0, 10);

export function Consent({ studyId, auth, query, setQuery, isPI, sites }: ScreenProps) {
  const site = query.get('site_id') ?? '';
  const state = useApi<Page>(`/studies/${studyId}/participants?limit=500${site ? `&site_id=${site}` : ''}`, auth.token);
  const [asking, setAsking] = useState<{ p: Participant; to: 'withdrawn' | 'consented' } | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ text: string; bad: boolean } | null>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => { if (asking) confirmRef.current?.focus(); }, [asking]);
  const code = (id: string): string => sites.find((s) => s.id === id)?.code ?? '?';

  const change = async (): Promise<void> => {
    if (!asking) return;
    setBusy(true);
    try {
      await api(`/studies/${studyId}/participants/${asking.p.id}`, { method: 'PATCH', body: JSON.stringify({ consent: asking.to, consent_date: today() }) }, auth.token);
      setMessage({
        bad: false,
        text: asking.to === 'withdrawn'
          ? `${asking.p.code}: consent withdrawn. Their interventions and quotes now leave every matrix and export.`
          : `${asking.p.code}: consent restored. Their interventions count again.`,
      });
      state.reload();
    } catch (e) {
      setMessage({ bad: true, text: `${asking.p.code}: ${problem(e)}` });
    } finally {
      setBusy(false);
      setAsking(null);
    }
  };

  return (
    <>
      <form class="dash-filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Site
          <select value={site} onChange={(e) => setQuery('site_id', e.currentTarget.value)}>
            <option value="">All sites</option>
            {sites.map((s) => <option key={s.id} value={s.id}>Site {s.code}</option>)}
          </select>
        </label>
      </form>
      <p class="muted">
        {isPI
          ? 'Withdrawing consent removes the participant’s interventions and quotes from every matrix and export at once. It is audited, and only a PI can reverse it.'
          : 'Read-only: only the study’s PI can withdraw or restore consent.'}
      </p>
      <div role="status" aria-live="polite" class="dash-message">
        {message && <p class={message.bad ? 'error' : 'ok-text'} data-testid="consent-message">{message.text}</p>}
      </div>
      <Status state={state}>
        {(page) => {
          const rows = [...page.items].sort((a, b) => a.code.localeCompare(b.code));
          return (
            <Scroll label="Participants and their consent">
              <table class="consent-table" data-testid="consent-table">
                <caption class="sr-only">Participants and their consent</caption>
                <thead>
                  <tr><th scope="col">Participant</th><th scope="col">Site</th><th scope="col">Level</th><th scope="col">Role</th><th scope="col">Consent</th>{isPI && <th scope="col"><span class="sr-only">Action</span></th>}</tr>
                </thead>
                <tbody>
                  {rows.map((p) => (
                    <tr key={p.id} data-code={p.code}>
                      <th scope="row">{p.code}{p.is_clinical_leader && <> <span class="pill clinical">clinical leader</span></>}{p.pending_review && <> <span class="pill">stub</span></>}</th>
                      <td>{code(p.site_id)}</td>
                      <td>{levelName(p.level)}</td>
                      <td class="role-cell">{p.role_title || '–'}</td>
                      <td><span class={`pill ${p.consent === 'consented' ? 'done' : 'bad'}`}>{CONSENT[p.consent] ?? p.consent}</span>{p.consent_date && <span class="muted small"> {p.consent_date}</span>}</td>
                      {isPI && (
                        <td class="action-cell">
                          {asking?.p.id === p.id ? (
                            <span class="confirm">
                              <span>{asking.to === 'withdrawn' ? `Withdraw ${p.code}’s consent?` : `Restore ${p.code}’s consent?`}</span>
                              <button ref={confirmRef} type="button" class={`btn small ${asking.to === 'withdrawn' ? 'danger' : 'primary'}`} disabled={busy} onClick={() => void change()}>
                                {asking.to === 'withdrawn' ? 'Confirm withdrawal' : 'Confirm restore'}
                              </button>
                              <button type="button" class="btn small" onClick={() => setAsking(null)}>Cancel</button>
                            </span>
                          ) : p.consent === 'consented' ? (
                            <button type="button" class="btn small" aria-label={`Withdraw consent of ${p.code}`} onClick={() => { setMessage(null); setAsking({ p, to: 'withdrawn' }); }}>Withdraw consent</button>
                          ) : p.consent === 'withdrawn' ? (
                            <button type="button" class="btn small" aria-label={`Restore consent of ${p.code}`} onClick={() => { setMessage(null); setAsking({ p, to: 'consented' }); }}>Restore consent</button>
                          ) : null}
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
              {page.total > page.items.length && <p class="muted small">Showing {page.items.length} of {page.total}: choose a site to see the rest.</p>}
            </Scroll>
          );
        }}
      </Status>
    </>
  );
}
