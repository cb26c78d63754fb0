import { useState } from 'preact/hooks';
import { db, engine, signOut, useMeta, usePending, useRejected, useStatus, type Auth } from '../app/store';
import { exportPending, importPending } from '../sync';
import type { PersistInfo } from './Chrome';

const ENTITY_LABEL: Record<string, string> = {
  intervention: 'Tag', field_note: 'Note', journal_entry: 'Journal write-up', observation_session: 'Observation',
  meeting: 'Meeting', meeting_attendee: 'Attendance', participant: 'Participant',
};

export function SyncPage({ auth }: { auth: Auth }) {
  const pending = usePending();
  const status = useStatus();
  const persist = useMeta<PersistInfo>('persist');
  const rejected = useRejected();
  const [report, setReport] = useState<string | null>(null);
  const skew = status?.clock_skew_seconds;
  const standalone = typeof matchMedia !== 'undefined' && matchMedia('(display-mode: standalone)').matches;
  const ios = /iPad|iPhone|Macintosh/.test(navigator.userAgent) && 'ontouchend' in document;

  const save = async (): Promise<void> => {
    const file = await exportPending(db);
    const blob = new Blob([JSON.stringify(file, null, 1)], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `fieldscope-unsent-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    setReport(`Saved ${file.entries.length} unsent change(s) to a file. Keep it until they show as sent.`);
  };

  const load = async (e: Event): Promise<void> => {
    const input = e.currentTarget as HTMLInputElement;
    const f = input.files?.[0];
    if (!f) return;
    let parsed: unknown;
    try { parsed = JSON.parse(await f.text()); } catch { parsed = null; }
    const r = await importPending(db, parsed, auth.user.id);
    input.value = '';
    setReport([`Imported ${r.added} change(s)`, r.already_here ? `${r.already_here} already on this tablet` : '', ...r.problems].filter(Boolean).join('. ') + '.');
    if (r.added) void engine.syncNow();
  };

  return (
    <section class="page narrow">
      <h1>Sync and data</h1>
      <section class="card" aria-labelledby="st-h">
        <h2 id="st-h">Status</h2>
        <dl class="kv">
          <dt>Unsent changes</dt><dd data-testid="sync-page-pending">{pending}</dd>
          <dt>State</dt><dd>{status?.message ?? 'Not synced yet.'}</dd>
          <dt>Last successful sync</dt><dd>{status?.last_success_at ? new Date(status.last_success_at).toLocaleString() : 'Never'}</dd>
          <dt>Signed in as</dt><dd>{auth.user.email}</dd>
        </dl>
        {skew != null && Math.abs(skew) > 120 && (
          <p class="banner warn">This tablet's clock is {Math.round(Math.abs(skew) / 60)} minutes {skew > 0 ? 'ahead of' : 'behind'} the server. Durations are still right; set the clock when you can.</p>
        )}
        <div class="actions">
          <button type="button" class="btn primary" onClick={() => void engine.syncNow()}>Sync now</button>
        </div>
      </section>

      <section class="card" aria-labelledby="rej-h">
        <h2 id="rej-h">Changes the server did not accept</h2>
        {rejected.length === 0 ? <p class="muted">None.</p> : (
          <ul class="rejections-list" data-testid="rejections">
            {rejected.map((e) => (
              <li key={e.mutation_id}>
                <div>
                  <strong>{ENTITY_LABEL[e.entity] ?? e.entity}</strong> from {new Date(e.device_time).toLocaleString()}
                  <p class="reason">{e.reason ?? 'No reason given.'}</p>
                </div>
                <button type="button" class="btn small" onClick={() => void db.outbox.update([e.client_id, e.client_seq], { dismissed: 1 })}>Dismiss</button>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section class="card" aria-labelledby="file-h">
        <h2 id="file-h">Escape hatch: unsent changes as a file</h2>
        <p class="muted">If this tablet cannot reach the server, save its unsent changes to a file and import the file on another device signed in as you. Each change is applied once, however many times it is sent.</p>
        <div class="actions">
          <button type="button" class="btn" onClick={() => void save()} data-testid="export">Save unsent changes to a file</button>
          <label class="btn file">Import a file<input type="file" accept="application/json,.json" class="sr-only" data-testid="import" onChange={(e) => void load(e)} /></label>
        </div>
        {report && <p role="status" data-testid="file-report">{report}</p>}
      </section>

      <section class="card" aria-labelledby="stor-h">
        <h2 id="stor-h">Storage on this tablet</h2>
        {!persist ? <p>Checking…</p> : persist.granted ? (
          <p data-testid="persist-state">Persistent: the browser has promised not to clear fieldscope's data.</p>
        ) : (
          <p data-testid="persist-state" class="warn-text">
            Not persistent{persist.supported ? ': the browser declined' : ': this browser cannot promise it'}. It may clear saved data when space is low
            or after weeks unused. Sync often and keep a file of unsent changes.
          </p>
        )}
        {!standalone && (
          <p class="muted">On an iPad: open this page in Safari, tap Share, then <strong>Add to Home Screen</strong>. The installed app keeps its data more reliably and opens without wifi.</p>
        )}
        {ios && !standalone && <p class="warn-text">Safari may delete the data of sites not added to the Home Screen after 7 days without use.</p>}
      </section>

      <div class="actions">
        <button type="button" class="btn" onClick={() => void signOut()} disabled={pending > 0} title={pending > 0 ? 'Send or save your unsent changes first' : undefined}>Sign out</button>
        {pending > 0 && <span class="muted small">Sign-out is off while changes are unsent.</span>}
      </div>
      <p class="muted small">fieldscope {__APP_VERSION__}</p>
    </section>
  );
}
