/** Site totals: what the server holds, and apart from it, this device's unsent hours. */
import { useEffect, useState } from 'preact/hooks';
import { api, db, useLive, useMeta, type Auth } from '../app/store';
import { allOf, children, LEVELS, type Meeting, type Session, type Site } from '../app/domain';
import { sessionClock } from '../sync/clock';
import { levelLabel } from './Meetings';

import type { components } from '../api/schema';

type StudyTotals = components['schemas']['StudyTotals'];
interface Cached { at: string; totals: StudyTotals }

const hours = (h: number): string => (h > 0 && h < 1 ? `${Math.max(1, Math.round(h * 60))} min` : `${h.toFixed(1)} h`);

function Bar({ value, target, label }: { value: number; target: number; label: string }) {
  const pct = target > 0 ? Math.min(100, (value / target) * 100) : 0;
  return (
    <div class="bar" role="img" aria-label={`${label}: ${target > 0 ? `${Math.round((value / target) * 100)}% of target` : 'no target'}`}>
      <span style={{ width: `${pct}%` }} />
    </div>
  );
}

export function Totals({ studyId, auth }: { studyId: string; auth: Auth }) {
  const cached = useMeta<Cached>(`totals:${studyId}`);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<StudyTotals>(`/studies/${studyId}/totals`, {}, auth.token)
      .then((totals) => db.meta.put({ key: `totals:${studyId}`, value: { at: new Date().toISOString(), totals } }))
      .then(() => setError(null))
      .catch((e: unknown) => setError(e instanceof Error ? e.message : 'Could not load totals.'));
  }, [studyId, auth.token]);

  const local = useLive(async () => {
    const sites = await children<Site>('site', studyId);
    const meetings = new Map((await children<Meeting>('meeting', studyId)).map((m) => [m.id, m]));
    const pendingIds = new Set((await db.outbox.where('status').equals('pending').toArray()).filter((e) => e.entity === 'observation_session').map((e) => e.record_id));
    const unsent = new Map<string, number>();
    for (const s of await allOf<Session>('observation_session')) {
      const m = meetings.get(s.meeting_id);
      if (!m || !s.ended_at || !pendingIds.has(s.id)) continue;
      unsent.set(m.site_id, (unsent.get(m.site_id) ?? 0) + sessionClock(s).elapsed / 3600);
    }
    return { sites, unsent };
  }, [studyId], { sites: [] as Site[], unsent: new Map<string, number>() });

  const server = cached?.totals.sites ?? [];
  const rows = local.sites.length ? [...local.sites].sort((a, b) => a.code.localeCompare(b.code)) : [];

  return (
    <section class="page">
      <div class="page-head">
        <h1>Site totals</h1>
        <p class="muted small">{cached ? `Server figures from ${new Date(cached.at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}` : 'Server figures not loaded yet'}{error ? ` · ${error}` : ''}</p>
      </div>
      <div class="totals">
        {rows.map((site) => {
          const t = server.find((s) => s.site_id === site.id);
          const unsent = local.unsent.get(site.id) ?? 0;
          const targetH = t?.target_hours ?? site.target_hours;
          const targetM = t?.target_meetings ?? site.target_meetings;
          return (
            <article class="card site" key={site.id} aria-labelledby={`site-${site.code}`}>
              <h2 id={`site-${site.code}`}>Site {site.code} <span class="muted">{site.name}</span></h2>
              <div class="figure">
                <span class="num" data-testid={`hours-${site.code}`}>{t ? hours(t.hours) : '–'}</span>
                <span class="muted">of {hours(targetH)} target</span>
              </div>
              <Bar value={t?.hours ?? 0} target={targetH} label={`Site ${site.code} hours`} />
              <div class="figure">
                <span class="num">{t ? t.meetings : '–'}</span>
                <span class="muted">of {targetM} meetings</span>
              </div>
              <Bar value={t?.meetings ?? 0} target={targetM} label={`Site ${site.code} meetings`} />
              {unsent > 0 && <p class="unsent" data-testid={`unsent-${site.code}`}>+ {hours(unsent)} on this tablet, not yet sent</p>}
              {t?.levels && (
                <table class="levels">
                  <thead><tr><th scope="col">Level</th><th scope="col">Meetings</th><th scope="col">Hours</th></tr></thead>
                  <tbody>
                    {LEVELS.map((l) => (
                      <tr key={l}><th scope="row">{levelLabel(l)}</th><td>{t.levels[l].meetings}</td><td>{t.levels[l].hours.toFixed(1)}</td></tr>
                    ))}
                  </tbody>
                </table>
              )}
            </article>
          );
        })}
        {rows.length === 0 && <p class="card empty">No sites on this tablet yet: sync once while online.</p>}
      </div>
    </section>
  );
}
