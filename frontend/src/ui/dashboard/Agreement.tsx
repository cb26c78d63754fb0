/** Inter-rater agreement on the contribution code: Cohen's kappa and percent agreement per
 *  co-observed meeting, per site and overall, in a time window; unmatched tags listed. */
import type { components } from '../../api/schema';
import type { ScreenProps } from './Dashboard';
import { DataTable, Filters, levelName, scopeQuery, Status, useApi } from './charts';
import { dayLabel, fmtKappa, fmtPercent, kappaWords } from './scale';

type AgreementReport = components['schemas']['AgreementReport'];
type AgreementStats = components['schemas']['AgreementStats'];

const stats = (s: AgreementStats): (string | number)[] => [s.pairs, s.agreements, fmtPercent(s.percent_agreement), fmtKappa(s.kappa), kappaWords(s.kappa)];
const time = (iso: string): string => iso.slice(11, 19);

export function Agreement({ studyId, auth, query, setQuery, sites }: ScreenProps) {
  const win = query.get('window_seconds') ?? '30';
  const state = useApi<AgreementReport>(`/studies/${studyId}/dashboard/agreement${scopeQuery(query, ['window_seconds'])}`, auth.token);
  return (
    <>
      <Filters sites={sites} query={query} onChange={setQuery}>
        <label>
          Time window (seconds)
          <input type="number" name="window_seconds" min="0" max="3600" step="1" value={win} onChange={(e) => setQuery('window_seconds', e.currentTarget.value)} />
        </label>
      </Filters>
      <Status state={state}>
        {(r) => {
          const codes = new Set(r.meetings.flatMap((m) => m.pairs.flatMap((p) => p.confusion.flatMap((c) => [c.a, c.b]))));
          return (
            <>
              <dl class="stats" data-testid="agreement-overall">
                <div><dt>Cohen’s kappa</dt><dd data-testid="kappa">{fmtKappa(r.overall.kappa)}</dd><dd class="muted small">{kappaWords(r.overall.kappa)}</dd></div>
                <div><dt>Percent agreement</dt><dd data-testid="percent">{fmtPercent(r.overall.percent_agreement)}</dd><dd class="muted small">{r.overall.agreements} of {r.overall.pairs} pairs</dd></div>
                <div><dt>Co-observed meetings</dt><dd>{r.meetings.length}</dd><dd class="muted small">two or more observers</dd></div>
                <div><dt>Unmatched tags</dt><dd data-testid="unmatched-total">{r.unmatched_total}</dd><dd class="muted small">no partner within {r.window_seconds} s</dd></div>
              </dl>
              <p class="muted small">Two tags align when they name the same participant within {r.window_seconds} seconds (nearest first). Site and overall figures pool the matched pairs of their meetings.</p>
              {r.meetings.length === 0 ? <p class="card empty">No meeting in this selection was observed by two or more fieldworkers.</p> : (
                <>
                  <h2>Per site</h2>
                  <DataTable caption="Agreement per site" testid="agreement-sites" head={['Site', 'Meetings', 'Pairs', 'Agree', 'Agreement', 'Kappa', 'Reading']}
                    rows={r.sites.map((s) => [`Site ${s.code}`, s.meetings, ...stats(s.stats)])}
                    foot={['Overall', r.meetings.length, ...stats(r.overall)]} />
                  <h2>Per meeting</h2>
                  <DataTable caption="Agreement per meeting" testid="agreement-meetings" head={['Meeting', 'Observers', 'Pairs', 'Agree', 'Agreement', 'Kappa', 'Reading']}
                    rows={r.meetings.map((m) => [`${m.title} · site ${m.site_code}, ${levelName(m.level)}${m.scheduled_start ? `, ${dayLabel(m.scheduled_start.slice(0, 10))}` : ''}`, m.observers.map((o) => o.display_name).join(' & '), ...stats(m.stats)])} />
                  <h2>Unmatched interventions</h2>
                  {r.meetings.every((m) => m.pairs.every((p) => p.unmatched.length === 0)) ? <p class="card empty">Every tag found its partner.</p> : r.meetings.map((m) => m.pairs.map((p) => p.unmatched.length > 0 && (
                    <details class="card unmatched" key={`${m.meeting_id}-${p.observer_a.user_id}-${p.observer_b.user_id}`}>
                      <summary><strong>{m.title}</strong> (site {m.site_code}): {p.unmatched.length} unmatched between {p.observer_a.display_name} and {p.observer_b.display_name}</summary>
                      <DataTable caption={`Unmatched tags in ${m.title}`} head={['Participant', 'Tagged by', 'Contribution', 'At (UTC)', 'No match from']}
                        rows={p.unmatched.map((u) => {
                          const who = (id: string): string => (id === p.observer_a.user_id ? p.observer_a.display_name : p.observer_b.display_name);
                          return [u.participant_code, who(u.observer_id), u.code_key.replace(/_/g, ' '), time(u.at), who(u.unmatched_against)];
                        })} />
                      {p.confusion.length > 0 && (
                        <DataTable caption={`Matched pairs in ${m.title}`} head={[`${p.observer_a.display_name} said`, `${p.observer_b.display_name} said`, 'Pairs']}
                          rows={p.confusion.map((c) => [c.a.replace(/_/g, ' '), c.b.replace(/_/g, ' '), c.count])} />
                      )}
                    </details>
                  )))}
                  {codes.size > 0 && <p class="muted small">Codes compared: {[...codes].map((c) => c.replace(/_/g, ' ')).join(', ')}.</p>}
                </>
              )}
            </>
          );
        }}
      </Status>
    </>
  );
}
