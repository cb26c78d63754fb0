/** The escape hatch: unsent changes saved to a file on a tablet that cannot sync, imported on
 *  another device, sent from there; the original later sends them too; each applies once. */
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { attend, capture, createMeeting, localTagIds, serverState, signIn, startObservation, swReady, synced, tagMany, token } from './helpers';

test('save unsent changes to a file and import them on another device', async ({ browser, request }) => {
  const tablet = await browser.newContext({ acceptDownloads: true });
  const page = await tablet.newPage();
  await signIn(page);
  await swReady(page);
  await tablet.setOffline(true);
  await createMeeting(page, 'Medicines optimisation group', 'C', 'Project');
  await attend(page, ['C-PR-01', 'C-TH-02']);
  const sessionId = await startObservation(page);
  await tagMany(page, ['C-PR-01', 'C-TH-02'], 8);
  const ids = await localTagIds(page, sessionId);

  await page.getByRole('link', { name: 'Sync & data' }).click();
  await expect(page.getByTestId('sync-page-pending')).not.toHaveText('0');
  const unsent = Number(await page.getByTestId('sync-page-pending').textContent());
  expect(unsent).toBeGreaterThanOrEqual(8 + 4); // tags, meeting, attendees, session
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
  const path = await download.path();
  const file = JSON.parse(readFileSync(path, 'utf8')) as { format: string; entries: unknown[] };
  expect(file.format).toBe('fieldscope-outbox');
  expect(file.entries).toHaveLength(unsent);
  await expect(page.getByTestId('file-report')).toContainText(`Saved ${unsent}`);
  await capture(page, 'sync-and-data');

  // Another device, signed in as the same fieldworker, imports the file and sends it.
  const other = await browser.newContext();
  const page2 = await other.newPage();
  await signIn(page2);
  await page2.getByRole('link', { name: 'Sync & data' }).click();
  await page2.getByTestId('import').setInputFiles(path);
  await expect(page2.getByTestId('file-report')).toContainText(`Imported ${unsent} change(s)`);
  await synced(page2);
  // Importing the same file again adds nothing.
  await page2.getByTestId('import').setInputFiles(path);
  await expect(page2.getByTestId('file-report')).toContainText(`${unsent} already on this tablet`);
  await expect(page2.getByTestId('pending-count')).toHaveAttribute('data-pending', '0');

  // The original tablet comes back online and sends the same changes: replays, no duplicates.
  await tablet.setOffline(false);
  await page.getByRole('button', { name: 'Sync now' }).first().click();
  await synced(page);
  const state = await serverState(request, await token(request, 'fw'));
  const tags = [...state.values()].filter((r) => r.entity === 'intervention' && r['session_id'] === sessionId);
  expect(tags.map((t) => t['id']).sort()).toEqual(ids);
  expect(tags.every((t) => t['version'] === 1)).toBe(true);
  await tablet.close();
  await other.close();
});
