/** Participants by site and level, shaped like the study's Table 1 (levels down, sites across):
 *  clinical leaders first, then everyone observed, consent and review flags. */
import type { components } from '../../api/schema';
import type { ScreenProps } from './Dashboard';
import { levelName, Scroll, Status, useApi } from './charts';

type ParticipantTable = components['schemas']['ParticipantTable'];
type ParticipantCell = components['schemas']['ParticipantCell'];

function Table({ t, caption, pick, testid }: { t: ParticipantTable; caption: string; pick: (c: ParticipantCell) => number; testid: string }) {
  return (
    <Scroll label={caption}>
      <table class="table1" data-testid={testid}>
        <caption>{caption}</caption>
        <thead>
          <tr><th scope="col">Level</th>{t.sites.map((s) => <th key={s.site_id} scope="col" title={s.name}>Site {s.code}</th>)}<th scope="col">All sites</th></tr>
        </thead>
        <tbody>
          {t.rows.map((r) => (
            <tr key={r.level} data-level={r.level}>
              <th scope="row">{levelName(r.level === 'unassigned' ? null : r.level)}</th>
              {r.cells.map((c, i) => <td key={t.sites[i]?.site_id ?? i}>{pick(c)}</td>)}
              <td>{pick(r.total)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr data-level="total"><th scope="row">Total</th>{t.totals.map((c, i) => <td key={i}>{pick(c)}</td>)}<td data-testid={`${testid}-total`}>{pick(t.total)}</td></tr>
        </tfoot>
      </table>
    </Scroll>
  );
}

export function Participants({ studyId, auth }: ScreenProps) {
  const state = useApi<ParticipantTable>(`/studies/${studyId}/dashboard/participants`, auth.token);
  return (
    <Status state={state}>
      {(t) => (
        <>
          <p class="dash-summary">
            <strong>{t.total.clinical_leaders}</strong> clinical leaders among <strong>{t.total.participants}</strong> participants
            {t.total.without_consent > 0 && <> · {t.total.without_consent} without consent</>}
            {t.total.pending_review > 0 && <> · <a href="#/dashboard/quality">{t.total.pending_review} awaiting review</a></>}
          </p>
          <div class="card"><Table t={t} testid="table1" caption="Table 1. Clinical leaders with a designated leadership role, by site and level" pick={(c) => c.clinical_leaders} /></div>
          <div class="card"><Table t={t} testid="all-participants" caption="All participants observed (clinical and non-clinical), by site and level" pick={(c) => c.participants} /></div>
          <div class="card"><Table t={t} testid="without-consent" caption="Participants whose consent is declined or withdrawn" pick={(c) => c.without_consent} /></div>
        </>
      )}
    </Status>
  );
}
