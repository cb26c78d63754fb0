/** Two tabs of the app on one tablet: one outbox, one gap-free sequence, each change once. */
import { expect, test } from '@playwright/test';
import { attend, createMeeting, localTagIds, serverState, signIn, startObservation, synced, token } from './helpers';

test('two tabs tag the same meeting; the server gets every tag once', async ({ browser, request }) => {
  const context = await browser.newContext();
  const one = await context.newPage();
  await signIn(one);
  await createMeeting(one, 'Primary care collaborative', 'A', 'Project');
  await attend(one, ['A-PR-01', 'A-TH-02']);
  const sessionId = await startObservation(one);
  const two = await context.newPage();
  await two.goto(`/#/sessions/${sessionId}`);
  await expect(two.getByTestId('clock')).toBeVisible();

  await context.setOffline(true);
  for (const [page, who] of [[one, 'A-PR-01'], [two, 'A-TH-02']] as const) {
    await page.bringToFront();
    await page.getByRole('radio', { name: new RegExp(`^${who}`) }).click();
  }
  // Interleave taps between the tabs.
  for (let i = 0; i < 20; i++) {
    const page = i % 2 === 0 ? one : two;
    await page.keyboard.press(String((i % 4) + 1));
  }
  // Each tab sees the other's tags (IndexedDB is shared; live queries follow it).
  await expect(one.getByRole('heading', { name: /Who spoke/ })).toContainText('(20 tagged)');
  await expect(two.getByRole('heading', { name: /Who spoke/ })).toContainText('(20 tagged)');
  const seqs = await one.evaluate(async () => {
    const req = indexedDB.open('fieldscope');
    const db: IDBDatabase = await new Promise((res) => { req.onsuccess = () => res(req.result); });
    const rows: { client_seq: number; client_id: string }[] = await new Promise((res) => {
      const r = db.transaction('outbox').objectStore('outbox').getAll();
      r.onsuccess = () => res(r.result as never);
    });
    db.close();
    return { seqs: rows.map((r) => r.client_seq), clients: new Set(rows.map((r) => r.client_id)).size };
  });
  expect(seqs.clients).toBe(1);
  expect(seqs.seqs).toEqual(Array.from({ length: seqs.seqs.length }, (_, i) => i + 1));

  // Both tabs sync at once when the network returns.
  await context.setOffline(false);
  await Promise.all([one.getByRole('button', { name: 'Sync now' }).click(), two.getByRole('button', { name: 'Sync now' }).click()]);
  await synced(one);
  await synced(two);
  const ids = await localTagIds(one, sessionId);
  const state = await serverState(request, await token(request, 'fw'));
  const tags = [...state.values()].filter((r) => r.entity === 'intervention' && r['session_id'] === sessionId);
  expect(tags.map((t) => t['id']).sort()).toEqual(ids);
  expect(ids).toHaveLength(20);
  await context.close();
});
