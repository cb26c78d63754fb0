/** The fieldworker's day, end to end against the real server: nothing lost, nothing twice. */
import { expect, test } from '@playwright/test';
import {
  attend, capture, createMeeting, localTagIds, pending, serverState, signIn, siteSeconds, startObservation,
  swReady, synced, tagMany, token,
} from './helpers';

const LEADERS = ['A-EX-01', 'A-TH-01', 'A-PR-01'];

test('offline observation: reload offline, close mid-sync, every tag arrives exactly once', async ({ browser, request }) => {
  const pi = await token(request, 'pi');
  const before = await siteSeconds(request, pi, 'A');

  const context = await browser.newContext();
  let page = await context.newPage();
  await signIn(page);
  await swReady(page);

  await createMeeting(page, 'Urgent care programme board');
  await attend(page, LEADERS);
  const sessionId = await startObservation(page);

  await tagMany(page, LEADERS, 50);
  await page.getByLabel('Note text').fill('Chair asks clinical leads to own the winter plan.');
  await page.getByRole('button', { name: 'Save note' }).click();
  await page.getByRole('radio', { name: 'Reflection' }).click();
  await page.getByLabel('Note text').fill('Tension between finance and clinical priorities is open here.');
  await page.getByRole('button', { name: 'Save note' }).click();
  expect(await localTagIds(page, sessionId)).toHaveLength(50);

  // The meeting room has no wifi.
  await context.setOffline(true);
  await page.reload();
  await expect(page.getByTestId('clock')).toBeVisible();
  await expect(page.getByTestId('sync-status')).toContainText('Offline');
  await tagMany(page, LEADERS, 12, 50);
  // Undo the last tag: 61 remain.
  await page.getByRole('button', { name: /^Undo: Tag/ }).click();
  await page.getByLabel('Note text').fill('Informal chat with A-TH-01 after the item on discharge.');
  await page.getByRole('radio', { name: 'Informal field interview' }).click();
  await page.getByRole('button', { name: 'Save note' }).click();
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.waitForTimeout(1500);
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.waitForTimeout(1000);
  await page.getByRole('button', { name: 'End', exact: true }).click();
  await page.getByRole('button', { name: 'Confirm end' }).click();
  await expect(page.getByRole('heading', { name: 'Summary' })).toBeVisible();
  const localIds = await localTagIds(page, sessionId);
  expect(localIds).toHaveLength(61);
  expect(await pending(page)).toBeGreaterThan(0);

  // Back online, the tab is closed while a push is in flight: the server commits it, the
  // reply is lost with the tab.
  let closedMidSync = false;
  await context.route('**/api/v1/sync/push', async (route) => {
    const response = await route.fetch();
    expect(response.status()).toBe(200);
    closedMidSync = true;
    await page.close();
  });
  await context.setOffline(false);
  await page.getByRole('button', { name: 'Sync now' }).first().click().catch(() => undefined);
  await expect.poll(() => closedMidSync, { timeout: 30_000 }).toBe(true);
  await context.unroute('**/api/v1/sync/push');

  // Reopen: the app syncs on start; the replayed mutations change nothing on the server.
  page = await context.newPage();
  await page.goto(`/#/sessions/${sessionId}/summary`);
  await synced(page);
  await capture(page, 'summary-after-sync');

  const fw = await token(request, 'fw');
  const state = await serverState(request, fw);
  const serverTags = [...state.values()].filter((r) => r.entity === 'intervention' && r['session_id'] === sessionId);
  const live = serverTags.filter((r) => !r['deleted_at']);
  expect(live.map((r) => r['id']).sort()).toEqual(localIds);
  expect(serverTags).toHaveLength(62); // 61 live + the one undone (a tombstone)
  const notes = [...state.values()].filter((r) => r.entity === 'field_note' && r['session_id'] === sessionId);
  expect(notes).toHaveLength(3);

  const session = state.get(`observation_session:${sessionId}`)!;
  const duration = session['duration_seconds'] as number;
  expect(duration).toBeGreaterThan(0);
  const after = await siteSeconds(request, pi, 'A');
  expect(after - before).toBeCloseTo(duration, 3);
  // The duration the tablet showed is the one the server counted (pauses excluded).
  const shown = await page.getByTestId('summary-duration').textContent();
  const [m, s] = shown!.split(':').map(Number);
  expect(Math.abs(m! * 60 + s! - duration)).toBeLessThanOrEqual(1);
  await context.close();
});
