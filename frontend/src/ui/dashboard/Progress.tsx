/** Progress: observed hours and meetings per site against targets, by level, per ISO week,
 *  per fieldworker. Every chart has its numbers in a table too. */
import type { components } from '../../api/schema';
import type { ScreenProps } from './Dashboard';
import { AsTable, BarChart, ColumnChart, DataTable, LEVELS, levelName, Status, useApi } from './charts';
import { dayLabel, fillWeeks, fmtHours, fmtPct, weekLabel } from './scale';

type ObservationProgress = components['schemas']['ObservationProgress'];
type WeekPoint = components['schemas']['WeekPoint'];

export function Progress({ studyId, auth }: ScreenProps) {
  const state = useApi<ObservationProgress>(`/studies/${studyId}/dashboard/progress`, auth.token);
  return <Status state={state}>{(data) => <ProgressView data={data} />}</Status>;
}

function ProgressView({ data }: { data: ObservationProgress }) {
  const { totals, fieldworkers } = data;
  const t = totals.total;
  const sites = totals.sites;
  const weeks = fillWeeks<WeekPoint>(data.weeks, (week, starts_on) => ({ week, starts_on, meetings: 0, hours: 0, seconds: 0, sites: [] }));
  const years = new Set(weeks.map((w) => w.starts_on.slice(0, 4))).size;
  return (
    <>
      <dl class="stats" data-testid="progress-totals">
        <div><dt>Observed hours</dt><dd data-testid="total-hours">{t.hours.toFixed(1)}</dd><dd class="muted small">of {t.target_hours} h target ({fmtPct(t.progress.hours)})</dd></div>
        <div><dt>Meetings</dt><dd data-testid="total-meetings">{t.meetings}</dd><dd class="muted small">of {t.target_meetings} target ({fmtPct(t.progress.meetings)})</dd></div>
        <div><dt>Sessions</dt><dd>{t.sessions}</dd><dd class="muted small">{t.open_sessions} still open</dd></div>
        <div><dt>Co-observed</dt><dd>{t.co_observed_meetings}</dd><dd class="muted small">meetings, counted once</dd></div>
      </dl>

      <h2>Sites against targets</h2>
      <div class="chart-pair">
        <BarChart
          title="Observed hours per site"
          summary={`${sites.map((s) => `Site ${s.code} ${fmtHours(s.hours)} of ${fmtHours(s.target_hours)}`).join('; ')}.`}
          unit="hours"
          format={(v) => v.toFixed(1)}
          bars={sites.map((s) => ({ label: `Site ${s.code}`, value: s.hours, target: s.target_hours, detail: `Site ${s.code}: ${fmtHours(s.hours)} observed of ${fmtHours(s.target_hours)} target (${fmtPct(s.progress.hours)})` }))}
        />
        <BarChart
          title="Meetings per site"
          summary={`${sites.map((s) => `Site ${s.code} ${s.meetings} of ${s.target_meetings}`).join('; ')}.`}
          unit="meetings"
          bars={sites.map((s) => ({ label: `Site ${s.code}`, value: s.meetings, target: s.target_meetings, detail: `Site ${s.code}: ${s.meetings} meetings of ${s.target_meetings} target (${fmtPct(s.progress.meetings)})` }))}
        />
      </div>
      <DataTable
        caption="Observed hours and meetings per site against targets"
        testid="site-table"
        head={['Site', 'Meetings', 'Target', 'Hours', 'Target h', 'Of target', 'Co-observed', 'Observer h', 'Open sessions']}
        rows={sites.map((s) => [`Site ${s.code}`, s.meetings, s.target_meetings, s.hours.toFixed(1), s.target_hours.toFixed(1), fmtPct(s.progress.hours), s.co_observed_meetings, s.observer_hours.toFixed(1), s.open_sessions])}
        foot={['All sites', t.meetings, t.target_meetings, t.hours.toFixed(1), t.target_hours.toFixed(1), fmtPct(t.progress.hours), t.co_observed_meetings, t.observer_hours.toFixed(1), t.open_sessions]}
      />

      <h2>By level</h2>
      <BarChart
        title="Observed hours per meeting level"
        summary={`${LEVELS.map((l) => `${levelName(l)} ${fmtHours(t.levels[l].hours)} in ${t.levels[l].meetings} meetings`).join('; ')}.`}
        unit="hours"
        format={(v) => v.toFixed(1)}
        bars={LEVELS.map((l) => ({ label: levelName(l), value: t.levels[l].hours, detail: `${levelName(l)}: ${fmtHours(t.levels[l].hours)} in ${t.levels[l].meetings} meetings` }))}
      />
      <DataTable
        caption="Meetings and hours per level and site"
        testid="level-table"
        head={['Level', ...sites.flatMap((s) => [`${s.code} meetings`, `${s.code} hours`]), 'Meetings', 'Hours']}
        rows={LEVELS.map((l) => [levelName(l), ...sites.flatMap((s) => [s.levels[l].meetings, s.levels[l].hours.toFixed(1)]), t.levels[l].meetings, t.levels[l].hours.toFixed(1)])}
        foot={['All levels', ...sites.flatMap((s) => [s.meetings, s.hours.toFixed(1)]), t.meetings, t.hours.toFixed(1)]}
      />

      <h2>Over time</h2>
      {weeks.length === 0 ? <p class="card empty">No ended sessions yet.</p> : (
        <>
          <ColumnChart
            title="Observed hours per ISO week"
            summary={`${data.weeks.length} weeks with observation from ${dayLabel(weeks[0]!.starts_on)} to ${dayLabel(weeks[weeks.length - 1]!.starts_on)}; busiest ${fmtHours(Math.max(...data.weeks.map((w) => w.hours)))}.`}
            unit="hours and meetings"
            every={weeks.length > 40 ? 13 : weeks.length > 12 ? 4 : 1}
            columns={weeks.map((w) => ({
              key: w.week,
              label: years > 1 || weeks.length > 12 ? w.week.replace('-W', ' W') : w.week.slice(5),
              value: w.hours,
              detail: `${weekLabel(w.week, w.starts_on)}: ${fmtHours(w.hours)} in ${w.meetings} meeting${w.meetings === 1 ? '' : 's'}${w.sites.length ? ` (${w.sites.map((s) => `${s.code} ${fmtHours(s.hours)}`).join(', ')})` : ''}`,
            }))}
          />
          <AsTable
            caption="Observation per ISO week"
            testid="week-table"
            head={['Week', 'Monday', 'Meetings', 'Hours', 'Sites']}
            rows={data.weeks.map((w) => [w.week, dayLabel(w.starts_on), w.meetings, w.hours.toFixed(2), w.sites.map((s) => `${s.code}: ${s.meetings} · ${s.hours.toFixed(2)} h`).join('; ')])}
            foot={['All weeks', '', data.weeks.reduce((n, w) => n + w.meetings, 0), data.weeks.reduce((n, w) => n + w.hours, 0).toFixed(2), '']}
          />
        </>
      )}

      <h2>Per fieldworker</h2>
      {fieldworkers.length === 0 ? <p class="card empty">No fieldworker has observed yet.</p> : (
        <>
          <BarChart
            title="Observer hours per fieldworker"
            summary={`${fieldworkers.map((f) => `${f.display_name} ${fmtHours(f.observer_hours)}`).join('; ')}. Co-observed time counts for each observer.`}
            unit="hours"
            format={(v) => v.toFixed(1)}
            bars={fieldworkers.map((f) => ({ label: f.display_name.length > 24 ? `${f.display_name.slice(0, 23)}…` : f.display_name, value: f.observer_hours, detail: `${f.display_name}: ${fmtHours(f.observer_hours)} in ${f.sessions} sessions, ${f.meetings} meetings (${f.co_observed_meetings} co-observed)` }))}
          />
          <DataTable
            caption="Observation per fieldworker"
            testid="fieldworker-table"
            head={['Fieldworker', 'Sessions', 'Open', 'Meetings', 'Co-observed', 'Observer h', 'First', 'Last']}
            rows={fieldworkers.map((f) => [f.display_name, f.sessions, f.open_sessions, f.meetings, f.co_observed_meetings, f.observer_hours.toFixed(1), f.first_session_at ? dayLabel(f.first_session_at.slice(0, 10)) : '–', f.last_session_at ? dayLabel(f.last_session_at.slice(0, 10)) : '–'])}
          />
        </>
      )}
    </>
  );
}
