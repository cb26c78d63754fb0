/** A new version of the app arrives while changes are unsent: the user is asked to reload,
 *  and the reload keeps every pending entry byte for byte, then sends them. */
import { expect, test } from '@playwright/test';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { attend, createMeeting, seed, serverState, signIn, startObservation, swReady, synced, tagMany, token } from './helpers';

test('an app update with a non-empty outbox keeps it and prompts to reload', async ({ browser, request }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page);
  await swReady(page);
  await context.setOffline(true);
  await createMeeting(page, 'Mental health partnership board', 'B', 'Executive');
  await attend(page, ['B-EX-01']);
  const sessionId = await startObservation(page);
  await tagMany(page, ['B-EX-01'], 6);
  const outbox = async (): Promise<string> => page.evaluate(async () => {
    const req = indexedDB.open('fieldscope');
    const db: IDBDatabase = await new Promise((res) => { req.onsuccess = () => res(req.result); });
    const rows: unknown[] = await new Promise((res) => {
      const r = db.transaction('outbox').objectStore('outbox').getAll();
      r.onsuccess = () => res(r.result as unknown[]);
    });
    db.close();
    return JSON.stringify(rows);
  });
  const before = await outbox();
  expect(JSON.parse(before).length).toBeGreaterThan(6);

  // Ship a new version: the service worker file changes on the server.
  appendFileSync(join(seed().static_dir, 'sw.js'), `\n// release ${Date.now()}\n`);
  // The network is back but the sync endpoints still fail, so the outbox stays full.
  await context.route('**/api/v1/sync/**', (route) => route.abort());
  await context.setOffline(false);
  await page.evaluate(async () => { await (await navigator.serviceWorker.getRegistration())?.update(); });
  const banner = page.getByTestId('update-banner');
  await expect(banner).toBeVisible();
  await expect(banner).toContainText('unsent change(s) stay on this tablet');
  await page.getByRole('button', { name: 'Reload to update' }).click();
  await expect(page.getByTestId('clock')).toBeVisible();
  await expect(banner).toHaveCount(0);
  const after = JSON.parse(await outbox()) as { mutation_id: string; fields: unknown; client_seq: number }[];
  const old = JSON.parse(before) as { mutation_id: string; fields: unknown; client_seq: number }[];
  // Same entries, same ids, same payloads (status may have moved on if a sync ran).
  expect(after.map((e) => [e.mutation_id, e.client_seq, e.fields])).toEqual(old.map((e) => [e.mutation_id, e.client_seq, e.fields]));
  expect(after.every((e) => (e as unknown as { status: string }).status === 'pending')).toBe(true);
  await context.unroute('**/api/v1/sync/**');
  await page.getByRole('button', { name: 'Sync now' }).click();
  await synced(page);
  const state = await serverState(request, await token(request, 'fw'));
  expect([...state.values()].filter((r) => r.entity === 'intervention' && r['session_id'] === sessionId)).toHaveLength(6);
  await context.close();
});
