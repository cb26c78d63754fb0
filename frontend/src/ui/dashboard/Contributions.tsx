/** Contributions: tagged interventions as heatmaps against the codebook's contributions, by
 *  participant, meeting level, site or stage of change, filtered by site, level and dates. */
import type { components } from '../../api/schema';
import type { ScreenProps } from './Dashboard';
import { Filters, Heatmap, levelName, scopeQuery, Status, useApi } from './charts';

type ContributionMatrix = components['schemas']['ContributionMatrix'];

const DIMENSIONS = [
  { key: 'participant', label: 'Participant', head: 'Participant', plural: 'participants' },
  { key: 'level', label: 'Level', head: 'Level', plural: 'levels' },
  { key: 'site', label: 'Site', head: 'Site', plural: 'sites' },
  { key: 'stage', label: 'Stage of change', head: 'Stage of change', plural: 'stages of change' },
] as const;

const STAGE: Record<string, string> = { strategy: 'Early strategy setting', delivery: 'Collaborative delivery' };

export function Contributions({ studyId, auth, query, setQuery, sites }: ScreenProps) {
  const dim = DIMENSIONS.find((d) => d.key === query.get('by')) ?? DIMENSIONS[0];
  const state = useApi<ContributionMatrix>(`/studies/${studyId}/dashboard/contributions/${dim.key}${scopeQuery(query)}`, auth.token);
  return (
    <>
      <Filters sites={sites} query={query} onChange={setQuery}>
        <fieldset class="dash-dims">
          <legend>Rows</legend>
          <div class="segmented small">
            {DIMENSIONS.map((d) => (
              <button key={d.key} type="button" aria-pressed={d.key === dim.key} class={d.key === dim.key ? 'on' : ''} onClick={() => setQuery('by', d.key === 'participant' ? '' : d.key)}>
                {d.label}
              </button>
            ))}
          </div>
        </fieldset>
      </Filters>
      <Status state={state}>
        {(m) => {
          const label = (key: string, l: string): string => (m.dimension === 'level' ? levelName(key || null) : m.dimension === 'site' ? `Site ${l}` : m.dimension === 'stage' ? STAGE[key] ?? (key ? l : 'No stage recorded') : l);
          return (
            <>
              <p class="dash-summary" data-testid="matrix-summary">
                <strong data-testid="matrix-total">{m.total}</strong> interventions by {m.rows.length} {m.rows.length === 1 ? dim.label.toLowerCase() : dim.plural}
                {m.co_observed_meetings > 0 && <> · {m.co_observed_meetings} co-observed meeting{m.co_observed_meetings === 1 ? '' : 's'}, where every observer's tags count</>}
                {' · '}<span data-testid="excluded">{m.excluded_participants} participant{m.excluded_participants === 1 ? '' : 's'} left out for declined or withdrawn consent</span>
              </p>
              {m.total === 0 ? <p class="card empty">No tagged interventions in this selection.</p> : (
                <Heatmap
                  caption={`Interventions by ${dim.label.toLowerCase()} and contribution`}
                  rowHead={dim.head}
                  testid="matrix"
                  columns={m.columns}
                  columnTotals={m.column_totals}
                  total={m.total}
                  rows={m.rows.map((r) => ({
                    key: r.key,
                    label: label(r.key, r.label),
                    note: m.dimension === 'participant' ? [r.site_code && `site ${r.site_code}`, r.level, r.is_clinical_leader ? 'clinical leader' : null].filter(Boolean).join(', ') : undefined,
                    counts: r.counts,
                    total: r.total,
                  }))}
                />
              )}
              <p class="muted small">Darker cells hold more interventions; each cell shows its count. Withdrawn or declined consent removes a participant's interventions from every matrix.</p>
            </>
          );
        }}
      </Status>
    </>
  );
}
