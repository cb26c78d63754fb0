/** A change the server refuses is shown with its reason, and the rest still arrives. */
import { expect, test } from '@playwright/test';
import { attend, capture, createMeeting, seed, serverState, signIn, startObservation, swReady, synced, token } from './helpers';

test('a tag of a participant who withdrew consent meanwhile is rejected and shown', async ({ browser, request }) => {
  const s = seed();
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page);
  await swReady(page);
  await createMeeting(page, 'Maternity programme board', 'B', 'Thematic');
  await attend(page, ['B-EX-01', 'B-TH-02']);
  const sessionId = await startObservation(page);
  await page.getByRole('button', { name: 'Sync now' }).click();
  await synced(page);

  // Offline in the meeting; meanwhile the PI records B-TH-02's withdrawal on the server.
  await context.setOffline(true);
  const pi = await token(request, 'pi');
  const consent = async (value: string): Promise<void> => {
    const res = await request.patch(`/api/v1/studies/${s.study_id}/participants/${s.participants['B-TH-02']}`, {
      headers: { Authorization: `Bearer ${pi}` },
      data: { consent: value, consent_date: new Date().toISOString().slice(0, 10) },
    });
    expect(res.status(), await res.text()).toBe(200);
  };
  await consent('withdrawn');

  for (const [who, key] of [['B-TH-02', '2'], ['B-EX-01', '4'], ['B-TH-02', '1']] as const) {
    await page.getByRole('radio', { name: new RegExp(`^${who}`) }).click();
    await page.keyboard.press(key);
  }
  await expect(page.getByTestId('pending-count')).toHaveAttribute('data-pending', /[1-9]/);

  await context.setOffline(false);
  await page.getByRole('button', { name: 'Sync now' }).click();
  await synced(page);
  await expect(page.getByRole('link', { name: '2 not accepted' })).toBeVisible();
  // The pulled withdrawal makes B-TH-02 untaggable on this tablet from now on.
  await expect(page.getByRole('radio', { name: /^B-TH-02/ })).toBeDisabled();

  await page.getByRole('link', { name: '2 not accepted' }).click();
  const list = page.getByTestId('rejections');
  await expect(list.getByRole('listitem')).toHaveCount(2);
  await expect(list).toContainText('B-TH-02 has withdrawn consent');
  await capture(page, 'sync-with-rejections');

  const state = await serverState(request, await token(request, 'fw'));
  const tags = [...state.values()].filter((r) => r.entity === 'intervention' && r['session_id'] === sessionId);
  expect(tags.map((t) => t['participant_id'])).toEqual([s.participants['B-EX-01']]);

  await list.getByRole('button', { name: 'Dismiss' }).first().click();
  await expect(list.getByRole('listitem')).toHaveCount(1);
  await context.close();
  await consent('consented'); // leave the shared server as the other tests expect it
});
