import { useLive } from '../app/store';
import { allOf, children, type Meeting, type Session, type Site } from '../app/domain';
import { href } from '../app/router';

const dayKey = (d: Date): string => d.toISOString().slice(0, 10);

export function levelLabel(l: string | null | undefined): string {
  return l ? l[0]!.toUpperCase() + l.slice(1) : '';
}

export function when(iso: string | null): string {
  if (!iso) return 'No time set';
  return new Date(iso).toLocaleString(undefined, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

export function Meetings({ studyId }: { studyId: string }) {
  const data = useLive(async () => ({
    meetings: await children<Meeting>('meeting', studyId),
    sites: await children<Site>('site', studyId),
    sessions: await allOf<Session>('observation_session'),
  }), [studyId], { meetings: [], sites: [], sessions: [] });
  const today = dayKey(new Date());
  const site = (id: string): Site | undefined => data.sites.find((s) => s.id === id);
  const sorted = [...data.meetings].sort((a, b) => (a.scheduled_start ?? '').localeCompare(b.scheduled_start ?? ''));
  const groups: [string, Meeting[]][] = [
    ['Today', sorted.filter((m) => m.scheduled_start && dayKey(new Date(m.scheduled_start)) === today)],
    ['Upcoming', sorted.filter((m) => m.scheduled_start && dayKey(new Date(m.scheduled_start)) > today)],
    ['Earlier', sorted.filter((m) => !m.scheduled_start || dayKey(new Date(m.scheduled_start)) < today).reverse()],
  ];

  return (
    <section class="page">
      <div class="page-head">
        <h1>Meetings</h1>
        <a class="btn primary" href={href({ name: 'meeting-new' })}>New meeting</a>
      </div>
      {data.meetings.length === 0 && (
        <p class="card empty">No meetings yet. Create one on the spot when a meeting starts; it is saved on this tablet at once.</p>
      )}
      {groups.map(([title, list]) => list.length > 0 && (
        <section key={title} aria-labelledby={`g-${title}`}>
          <h2 id={`g-${title}`}>{title}</h2>
          <ul class="list">
            {list.map((m) => {
              const sessions = data.sessions.filter((s) => s.meeting_id === m.id);
              const running = sessions.some((s) => !s.ended_at);
              const s = site(m.site_id);
              return (
                <li key={m.id}>
                  <a class="row-button" href={href({ name: 'meeting', id: m.id })}>
                    <span class="title">{m.title}</span>
                    <span class="meta">
                      <span class="pill">{s ? `Site ${s.code}` : 'Site'}</span>
                      <span class="pill">{levelLabel(m.level)}</span>
                      <span class="muted">{when(m.scheduled_start)}</span>
                      {running && <span class="pill observing">Observing now</span>}
                      {!running && sessions.length > 0 && <span class="pill done">Observed</span>}
                    </span>
                  </a>
                </li>
              );
            })}
          </ul>
        </section>
      ))}
    </section>
  );
}
