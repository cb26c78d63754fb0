import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { registerSW } from 'virtual:pwa-register';
import { db, engine } from './app/store';
import { ensureClientId } from './sync';
import { App } from './ui/App';
import type { PersistInfo } from './ui/Chrome';
import './styles.css';

let reloadWithNewVersion: (() => Promise<void>) | null = null;
let announceUpdate: (() => void) | null = null;
let updateReady = false;

// Prompt, never auto-update: the outbox is in IndexedDB and survives the new version, but
// the fieldworker decides when the screen reloads (not mid-tag).
if ('serviceWorker' in navigator) {
  const update = registerSW({
    immediate: true,
    onNeedRefresh() {
      updateReady = true;
      announceUpdate?.();
    },
    onRegisteredSW(_url, reg) {
      if (reg) setInterval(() => void reg.update().catch(() => undefined), 30 * 60_000);
    },
  });
  reloadWithNewVersion = () => update(true);
}

/** First run: ask the browser to keep our data (SYNC.md 15) and remember the answer. */
async function askPersistence(): Promise<void> {
  if (await db.meta.get('persist')) {
    const info = (await db.meta.get('persist'))?.value as PersistInfo;
    if (info.granted || !navigator.storage?.persisted) return;
    const now = await navigator.storage.persisted();
    if (now !== info.granted) await db.meta.put({ key: 'persist', value: { ...info, granted: now } });
    return;
  }
  const supported = !!navigator.storage?.persist;
  const granted = supported ? await navigator.storage.persist().catch(() => false) : false;
  await db.meta.put({ key: 'persist', value: { asked: true, granted, supported, at: new Date().toISOString() } satisfies PersistInfo });
}

function Root() {
  const [needRefresh, setNeedRefresh] = useState(updateReady);
  useEffect(() => {
    announceUpdate = () => setNeedRefresh(true);
    return () => { announceUpdate = null; };
  }, []);
  return <App needRefresh={needRefresh} onReload={() => void (reloadWithNewVersion ? reloadWithNewVersion() : Promise.resolve(location.reload()))} />;
}

void (async () => {
  await ensureClientId(db);
  render(<Root />, document.getElementById('app')!);
  void askPersistence();
  engine.start();
})();
