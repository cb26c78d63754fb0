/** What is always on screen: where you are, the sync state, pending changes, "Sync now". */
import { db, engine, useLive, useMeta, usePending, useRejected, useStatus, type Auth } from '../app/store';
import { one, type Study } from '../app/domain';
import { dashHref, href } from '../app/router';

function ago(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return new Date(iso).toLocaleString(undefined, { hour: '2-digit', minute: '2-digit', day: 'numeric', month: 'short' });
}

/** PIs and analysts of the chosen study read the dashboard (an online view). */
export function dashboardRole(auth: Auth, studyId: string | undefined): 'pi' | 'analyst' | null {
  const role = auth.user.memberships.find((m) => m.study_id === studyId)?.role;
  return role === 'pi' || role === 'analyst' ? role : null;
}

const NAV = [
  { name: 'meetings', label: 'Meetings' },
  { name: 'totals', label: 'Site totals' },
  { name: 'sync', label: 'Sync & data' },
] as const;

export function SyncBar({ auth, studyId, route }: { auth: Auth; studyId: string | undefined; route: string }) {
  const pending = usePending();
  const status = useStatus();
  const study = useLive(async () => (studyId ? one<Study>('study', studyId) : undefined), [studyId], undefined);
  const rejected = useRejected().length;
  const state = status?.state ?? 'idle';
  const online = typeof navigator === 'undefined' || navigator.onLine;
  const label =
    state === 'syncing' ? 'Syncing…'
    : !online || state === 'offline' ? 'Offline'
    : state === 'signed_out' ? 'Sign in again'
    : state === 'upgrade_required' ? 'Update needed'
    : state === 'error' ? 'Sync problem'
    : 'Online';
  const tone = state === 'error' || state === 'upgrade_required' || state === 'signed_out' ? 'bad' : !online || state === 'offline' ? 'warn' : 'ok';
  return (
    <header class="topbar">
      <div class="brand">
        <a href="#/meetings" class="logo">fieldscope</a>
        {study && <a class="study-name" href="#/study" title={`${study.name}: change study`}>{study.name}</a>}
      </div>
      <nav aria-label="Main">
        {NAV.map((n) => (
          <a key={n.name} href={href({ name: n.name })} aria-current={route === n.name ? 'page' : undefined}>{n.label}</a>
        ))}
        {dashboardRole(auth, studyId) && (
          <a href={dashHref('progress', '')} aria-current={route === 'dashboard' ? 'page' : undefined}>Dashboard</a>
        )}
      </nav>
      <div class="sync" role="status" aria-live="polite" data-testid="sync-status">
        <span class={`dot ${tone}`} aria-hidden="true" />
        <span class="sync-text">
          <span>
            <strong>{label}</strong> ·{' '}
            <span data-testid="pending-count" data-pending={pending} class={pending ? 'unsent-count' : ''}>{pending === 0 ? 'all sent' : `${pending} unsent`}</span>
          </span>
          <span class="muted">
            {rejected > 0 ? <a class="rejections" href="#/sync">{rejected} not accepted</a> : `Synced ${ago(status?.last_success_at)}`}
          </span>
        </span>
        <button type="button" class="btn small" onClick={() => void engine.syncNow()} disabled={state === 'syncing'} title={`Signed in as ${auth.user.email}`}>
          Sync now
        </button>
      </div>
    </header>
  );
}

export function UpdateBanner({ show, onReload }: { show: boolean; onReload: () => void }) {
  const pending = usePending();
  if (!show) return null;
  return (
    <div class="banner info" role="alert" data-testid="update-banner">
      <span>
        A new version of fieldscope is ready.{' '}
        {pending > 0 ? `Your ${pending} unsent change(s) stay on this tablet and are sent after the update.` : 'Nothing is lost by updating.'}
      </span>
      <button type="button" class="btn primary small" onClick={onReload}>Reload to update</button>
    </div>
  );
}

export interface PersistInfo { asked: boolean; granted: boolean; supported: boolean; at: string }

export function StorageBanner() {
  const persist = useMeta<PersistInfo>('persist');
  const dismissed = useMeta<boolean>('persist_banner_dismissed');
  if (!persist || persist.granted || dismissed) return null;
  return (
    <div class="banner warn" role="alert" data-testid="storage-banner">
      <span>
        <strong>Storage not guaranteed.</strong> This browser may clear unsent notes when space runs low: sync often.
        On an iPad, add fieldscope to the Home Screen.
      </span>
      <span class="banner-actions">
        <a class="btn small" href="#/sync">What to do</a>
        <button type="button" class="btn small" onClick={() => void db.meta.put({ key: 'persist_banner_dismissed', value: true })}>Dismiss</button>
      </span>
    </div>
  );
}
