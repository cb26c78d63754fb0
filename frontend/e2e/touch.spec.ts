/** A tablet's finger: each tap on a contribution tags once (on lift; the click the browser
 *  would synthesise is cancelled), a pan across the buttons tags nothing, and the server
 *  receives exactly the tags tapped. */
import { expect, test } from '@playwright/test';
import { attend, CONTRIBUTIONS, createMeeting, localTagIds, serverState, signIn, startObservation, synced, token } from './helpers';

test('touch taps tag exactly once each; a pan tags nothing', async ({ browser, request }) => {
  const context = await browser.newContext({ hasTouch: true, viewport: { width: 768, height: 1024 } });
  const page = await context.newPage();
  await signIn(page);
  await createMeeting(page, 'Community services touch test', 'A', 'Project');
  await attend(page, ['A-EX-01', 'A-PR-01']);
  const sessionId = await startObservation(page);

  await page.getByRole('radio', { name: /^A-EX-01/ }).tap();
  const centre = async (name: string): Promise<{ x: number; y: number }> => {
    const box = (await page.getByRole('button', { name: new RegExp(`^${name}`) }).boundingBox())!;
    return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  };
  for (let i = 0; i < 8; i++) {
    const { x, y } = await centre(CONTRIBUTIONS[i % 4]!);
    await page.touchscreen.tap(x, y);
    await expect.poll(async () => (await localTagIds(page, sessionId)).length).toBe(i + 1);
  }

  // A finger that moves (a scroll) is not a tap: pointercancel, no tag.
  const from = await centre(CONTRIBUTIONS[0]!);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [from] });
  for (let dy = 10; dy <= 200; dy += 10) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x: from.x, y: from.y - dy }] });
  }
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await page.waitForTimeout(500);
  const ids = await localTagIds(page, sessionId);
  expect(ids).toHaveLength(8);

  await page.getByRole('button', { name: 'Sync now' }).tap();
  await synced(page);
  const server = await serverState(request, await token(request, 'fw'));
  const onServer = [...server.values()].filter((r) => r.entity === 'intervention' && r['session_id'] === sessionId && !r['deleted_at']);
  expect(onServer.map((r) => r['id']).sort()).toEqual([...ids].sort());
  expect(onServer.map((r) => r['code_key']).sort()).toEqual(
    ['analytical_insight', 'representation', 'translation_communication', 'relational', 'analytical_insight', 'representation', 'translation_communication', 'relational'].sort(),
  );
  await context.close();
});
