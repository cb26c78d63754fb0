import { useEffect, useState } from 'preact/hooks';
import { db, useAuth, useMeta, type Auth } from '../app/store';
import { useRoute, type DashView } from '../app/router';
import { dashboardRole, SyncBar, UpdateBanner, StorageBanner } from './Chrome';
import { SignIn } from './SignIn';
import { StudyPicker } from './StudyPicker';
import { Meetings } from './Meetings';
import { MeetingNew } from './MeetingNew';
import { MeetingDetail } from './MeetingDetail';
import { Live } from './Live';
import { Summary } from './Summary';
import { Totals } from './Totals';
import { SyncPage } from './SyncPage';

export function App({ needRefresh, onReload }: { needRefresh: boolean; onReload: () => void }) {
  const auth = useAuth();
  const studyId = useMeta<string>('study_id');
  const route = useRoute();

  useEffect(() => {
    // For scripts/bench_pwa.mjs: the first screen with stored data is on screen.
    if (auth !== undefined && !performance.getEntriesByName('fieldscope:ready').length) performance.mark('fieldscope:ready');
  }, [auth]);

  useEffect(() => {
    const main = document.getElementById('main');
    main?.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }, [route.name, route.name === 'dashboard' ? route.view : '']);

  if (auth === undefined) return <div class="boot" aria-busy="true">Opening fieldscope…</div>;
  if (auth === null) {
    return (
      <>
        <UpdateBanner show={needRefresh} onReload={onReload} />
        <SignIn />
      </>
    );
  }
  const screen = !studyId || route.name === 'study' ? (
    <StudyPicker auth={auth} />
  ) : route.name === 'meeting-new' ? (
    <MeetingNew studyId={studyId} />
  ) : route.name === 'meeting' ? (
    <MeetingDetail id={route.id} studyId={studyId} />
  ) : route.name === 'session' ? (
    <Live id={route.id} studyId={studyId} />
  ) : route.name === 'summary' ? (
    <Summary id={route.id} studyId={studyId} />
  ) : route.name === 'totals' ? (
    <Totals studyId={studyId} auth={auth} />
  ) : route.name === 'dashboard' ? (
    <LazyDashboard auth={auth} studyId={studyId} view={route.view} query={route.query} />
  ) : route.name === 'sync' ? (
    <SyncPage auth={auth} />
  ) : (
    <Meetings studyId={studyId} />
  );
  return (
    <>
      <SyncBar auth={auth} studyId={studyId} route={route.name} />
      <UpdateBanner show={needRefresh} onReload={onReload} />
      <StorageBanner />
      <main id="main" tabIndex={-1}>{screen}</main>
    </>
  );
}

type DashboardModule = typeof import('./dashboard/Dashboard');

/** The dashboard is its own chunk, fetched the first time a PI or analyst opens it. */
function LazyDashboard({ auth, studyId, view, query }: { auth: Auth; studyId: string; view: DashView; query: string }) {
  const role = dashboardRole(auth, studyId);
  const [mod, setMod] = useState<DashboardModule | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (role && !mod) import('./dashboard/Dashboard').then(setMod, () => setFailed(true));
  }, [role, mod]);
  if (!role) {
    return (
      <section class="page narrow">
        <h1>Dashboard</h1>
        <p class="card">The dashboard is for the study's PI and analysts. <a href="#/meetings">Back to meetings</a></p>
      </section>
    );
  }
  if (failed) {
    return (
      <section class="page narrow">
        <h1>Dashboard</h1>
        <p class="error" role="alert">The dashboard could not be loaded. You may be offline: connect and reload.</p>
      </section>
    );
  }
  if (!mod) return <p class="boot" aria-busy="true">Opening the dashboard…</p>;
  const Dashboard = mod.default;
  return <Dashboard auth={auth} studyId={studyId} view={view} query={query} role={role} />;
}

export { db };
