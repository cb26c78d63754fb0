import { useEffect } from 'preact/hooks';
import { db, useAuth, useMeta } from '../app/store';
import { useRoute } from '../app/router';
import { SyncBar, UpdateBanner, StorageBanner } from './Chrome';
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
  }, [route.name]);

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

export { db };
