/** Every screen, at tablet landscape and portrait: a screenshot and an axe scan with zero violations. */
import { expect, test } from '@playwright/test';
import { attend, capture, createMeeting, signIn, startObservation, synced, tagMany } from './helpers';

test('every screen passes axe and is captured at 1024x768 and 768x1024', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await capture(page, '01-sign-in');

  await signIn(page);
  await capture(page, '02-meetings');

  await page.goto('/#/study');
  await expect(page.getByRole('heading', { name: 'Choose a study' })).toBeVisible();
  await expect(page.getByRole('button', { name: /Clinical leaders/ })).toBeVisible();
  await capture(page, '03-choose-study');
  await page.getByRole('button', { name: /Clinical leaders/ }).click();

  await page.getByRole('link', { name: 'New meeting' }).click();
  await expect(page.getByRole('heading', { name: 'New meeting' })).toBeVisible();
  await capture(page, '04-new-meeting');
  await page.getByRole('link', { name: 'Cancel' }).click();

  await createMeeting(page, 'Frailty pathway project group', 'A', 'Project');
  await attend(page, ['A-EX-01', 'A-TH-01', 'A-TH-02', 'A-PR-01', 'A-PR-02']);
  await page.getByRole('button', { name: 'Add a participant' }).click();
  await page.getByLabel('Pseudonym code').fill('A-PR-11');
  await page.getByLabel('Role').fill('Occupational therapy lead');
  await capture(page, '05-meeting-attendees');
  await page.getByRole('button', { name: 'Add and mark present' }).click();
  await expect(page.locator('label.check-row', { hasText: 'A-PR-11' }).getByRole('checkbox')).toBeChecked();

  await startObservation(page);
  await capture(page, '06-live-empty');
  await tagMany(page, ['A-EX-01', 'A-TH-01', 'A-PR-01', 'A-PR-11'], 9);
  await page.getByRole('button', { name: /Critical challenge|Presenting clinical evidence|Translating|Brokering/ }).first().click();
  await page.getByLabel('Quote').fill('We cannot plan winter without the community teams in the room.');
  await page.getByRole('button', { name: 'Save quote' }).click();
  await page.getByLabel('Note text').fill('Finance lead pushes back; A-EX-01 reframes around patient flow.');
  await page.getByRole('button', { name: 'Save note' }).click();
  await capture(page, '07-live-tagging');
  await page.getByRole('button', { name: 'Pause' }).click();
  await capture(page, '08-live-paused');
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.getByRole('button', { name: 'End', exact: true }).click();
  await page.getByRole('button', { name: 'Confirm end' }).click();
  await expect(page.getByRole('heading', { name: 'Summary' })).toBeVisible();
  await page.getByLabel('Field journal', { exact: true }).fill('The group agreed the frailty pathway. A-EX-01 used service data to argue for feasibility.');
  await page.getByRole('button', { name: 'Save write-up' }).click();
  await capture(page, '09-summary-journal');

  await page.getByRole('link', { name: 'Meetings' }).first().click();
  await capture(page, '10-meetings-list');

  await page.getByRole('link', { name: 'Site totals' }).click();
  await expect(page.getByRole('heading', { name: 'Site totals' })).toBeVisible();
  await expect(page.getByTestId('hours-A')).toBeVisible();
  await capture(page, '11-site-totals');
  await page.getByRole('button', { name: 'Sync now' }).click();
  await synced(page);

  await page.getByRole('link', { name: 'Sync & data' }).click();
  // Everything this tour did was accepted (a blur and a click on the write-up make one entry).
  await expect(page.getByRole('heading', { name: 'Changes the server did not accept' })).toBeVisible();
  await expect(page.getByTestId('rejections')).toHaveCount(0);
  await capture(page, '12-sync-and-data');
  await context.close();
});
