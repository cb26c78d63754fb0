/** The PI and analyst dashboard: online views of the server's figures, loaded on demand (a
 *  separate chunk) so the fieldworker's first load does not carry it. */
import type { FunctionComponent } from 'preact';
import { useLive, type Auth } from '../../app/store';
import { children, type Site } from '../../app/domain';
import { dashHref, type DashView } from '../../app/router';
import type { SiteRef } from './charts';
import { Progress } from './Progress';
import { Contributions } from './Contributions';
import { Quality } from './Quality';
import { Consent } from './Consent';
import { Participants } from './Participants';
import { Agreement } from './Agreement';

export interface ScreenProps {
  studyId: string;
  auth: Auth;
  query: URLSearchParams;
  /** Set one query key (empty removes it); the route, and so the API call, follows. */
  setQuery: (key: string, value: string) => void;
  isPI: boolean;
  sites: SiteRef[];
}

const VIEWS: { view: DashView; label: string; screen: FunctionComponent<ScreenProps> }[] = [
  { view: 'progress', label: 'Progress', screen: Progress },
  { view: 'participants', label: 'Participants', screen: Participants },
  { view: 'contributions', label: 'Contributions', screen: Contributions },
  { view: 'quality', label: 'Data quality', screen: Quality },
  { view: 'consent', label: 'Consent', screen: Consent },
  { view: 'agreement', label: 'Agreement', screen: Agreement },
];

export default function Dashboard({ auth, studyId, view, query, role }: { auth: Auth; studyId: string; view: DashView; query: string; role: string }) {
  const sites = useLive(async () => (await children<Site>('site', studyId)).sort((a, b) => a.code.localeCompare(b.code)), [studyId], [] as Site[]);
  const current = VIEWS.find((v) => v.view === view) ?? VIEWS[0]!;
  const params = new URLSearchParams(query);
  const setQuery = (key: string, value: string): void => {
    const next = new URLSearchParams(query);
    if (value) next.set(key, value);
    else next.delete(key);
    location.hash = dashHref(current.view, next.toString());
  };
  const Screen = current.screen;
  return (
    <section class="page dash">
      <div class="page-head">
        <h1>{current.label}</h1>
        <p class="muted small">Dashboard · {role === 'pi' ? 'Principal investigator' : 'Analyst (read-only)'} · needs a connection</p>
      </div>
      <nav class="dash-nav" aria-label="Dashboard">
        {VIEWS.map((v) => (
          <a key={v.view} href={dashHref(v.view, '')} aria-current={v.view === current.view ? 'page' : undefined}>{v.label}</a>
        ))}
      </nav>
      <Screen studyId={studyId} auth={auth} query={params} setQuery={setQuery} isPI={role === 'pi'} sites={sites.map((s) => ({ id: s.id, code: s.code }))} />
    </section>
  );
}
