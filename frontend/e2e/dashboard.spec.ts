/** The PI and analyst dashboard on the synthetic demo study (loaded by server.py): real numbers
 *  from the server, filters, consent withdrawal leaving the matrix, axe on every screen and
 *  screenshots at tablet landscape, portrait and desktop. Analysts read only; fieldworkers
 *  never see it. */
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, axe, capture, seed, synced } from './helpers';

type Who = 'pi' | 'fw1' | 'fw2' | 'analyst';

async function signInDemo(page: Page, who: Who): Promise<void> {
  const s = seed();
  await page.goto('/');
  await page.getByLabel('Email').fill(s.demo.users[who].email);
  await page.getByLabel('Password').fill(s.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Meetings' })).toBeVisible();
  await synced(page);
}

async function demoToken(request: APIRequestContext, who: Who): Promise<string> {
  const s = seed();
  const res = await request.post('/api/v1/auth/login', { data: { email: s.demo.users[who].email, password: s.password, device_label: 'e2e check' } });
  expect(res.ok()).toBeTruthy();
  return ((await res.json()) as { token: string }).token;
}

async function get<T>(request: APIRequestContext, tok: string, path: string): Promise<T> {
  const res = await request.get(`/api/v1/studies/${seed().demo.study_id}${path}`, { headers: { Authorization: `Bearer ${tok}` } });
  expect(res.status(), await res.text()).toBe(200);
  return (await res.json()) as T;
}

async function desktop(page: Page, name: string, fullPage = false): Promise<void> {
  const dir = join(ARTIFACTS, 'screens');
  mkdirSync(dir, { recursive: true });
  const original = page.viewportSize();
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(150);
  await axe(page, `${name} at 1440x900`);
  await page.screenshot({ path: join(dir, `${name}-1440x900.png`), fullPage });
  if (original) await page.setViewportSize(original);
}

const dashNav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name, exact: true });
const cells = async (page: Page, selector: string): Promise<string[]> => (await page.locator(selector).allInnerTexts()).map((t) => t.trim());

interface Totals { total: { hours: number; meetings: number }; sites: { code: string; hours: number; meetings: number; target_hours: number }[] }
interface Matrix { total: number; rows: { label: string; total: number }[]; excluded_participants: number }
interface Agreement { overall: { kappa: number | null; percent_agreement: number | null }; unmatched_total: number }

test('a PI reads every dashboard screen, filters, and withdraws consent', async ({ page, request, context }) => {
  const tok = await demoToken(request, 'pi');
  await signInDemo(page, 'pi');
  const storage = page.getByTestId('storage-banner');
  if (await storage.isVisible()) await storage.getByRole('button', { name: 'Dismiss' }).click();

  // --- progress: the figures are the server's, and the sites add up to the study total ---------
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
  await expect(page.getByRole('heading', { name: 'Progress', level: 1 })).toBeVisible();
  const { totals } = await get<{ totals: Totals }>(request, tok, '/dashboard/progress');
  expect(totals.total).toMatchObject({ hours: 49, meetings: 28 }); // the reference study's figures
  await expect(page.getByTestId('total-hours')).toHaveText('49.0');
  await expect(page.getByTestId('total-meetings')).toHaveText('28');
  const siteRows = page.getByTestId('site-table').locator('tbody tr');
  await expect(siteRows).toHaveCount(3);
  let hours = 0;
  let meetings = 0;
  for (const site of totals.sites) {
    const row = siteRows.filter({ has: page.getByRole('rowheader', { name: `Site ${site.code}`, exact: true }) });
    const tds = await row.locator('td').allInnerTexts();
    expect(Number(tds[0]), `site ${site.code} meetings`).toBe(site.meetings);
    expect(Number(tds[2]), `site ${site.code} hours`).toBe(site.hours);
    meetings += Number(tds[0]);
    hours += Number(tds[2]);
  }
  expect([hours, meetings]).toEqual([49, 28]);
  const foot = await cells(page, '[data-testid="site-table"] tfoot td');
  expect([Number(foot[0]), Number(foot[2])]).toEqual([28, 49]);
  // A chart mark: its <title> for hover, and the readout on keyboard focus.
  const barA = page.getByRole('img', { name: /^Site A: 22\.0 h observed of 24\.0 h target/ });
  await expect(barA.locator('title')).toHaveText('Site A: 22.0 h observed of 24.0 h target (92%)');
  await barA.focus();
  await expect(page.locator('.readout').first()).toHaveText('Site A: 22.0 h observed of 24.0 h target (92%)');
  // The weeks add up to the total too.
  await page.getByText('Show as table').click();
  const weekFoot = await cells(page, '[data-testid="week-table"] tfoot td');
  expect([Number(weekFoot[1]), Number(weekFoot[2])]).toEqual([28, 49]);
  const levelFoot = await cells(page, '[data-testid="level-table"] tfoot td');
  expect(levelFoot.slice(-2).map(Number)).toEqual([28, 49]);
  await capture(page, 'dash-01-progress');
  await desktop(page, 'dash-01-progress', true);

  // --- participants: Table 1 of the study ----------------------------------------------------
  await dashNav(page, 'Participants').click();
  await expect(page.getByRole('heading', { name: 'Participants', level: 1 })).toBeVisible();
  const table1 = page.getByTestId('table1');
  const row = (level: string) => table1.locator(`tr[data-level="${level}"] td`);
  await expect(row('executive')).toHaveText(['2', '1', '1', '4']);
  await expect(row('thematic')).toHaveText(['3', '3', '2', '8']);
  await expect(row('project')).toHaveText(['5', '6', '2', '13']);
  await expect(row('total')).toHaveText(['10', '10', '5', '25']);
  await capture(page, 'dash-02-participants');

  // --- contributions: the matrix, another dimension, a filter ---------------------------------
  await dashNav(page, 'Contributions').click();
  await expect(page.getByRole('heading', { name: 'Contributions', level: 1 })).toBeVisible();
  const all = await get<Matrix>(request, tok, '/dashboard/contributions/participant');
  expect(all.total).toBeGreaterThan(0);
  await expect(page.getByTestId('matrix-total')).toHaveText(String(all.total));
  await expect(page.getByTestId('matrix').locator('tfoot td.total')).toHaveText(String(all.total));
  const leader = all.rows.find((r) => r.label === 'A-EX-01')!;
  expect(leader.total).toBeGreaterThan(0);
  await expect(page.locator('tr[data-row="A-EX-01"] td.total')).toHaveText(String(leader.total));
  await capture(page, 'dash-03-contributions-participant');
  await desktop(page, 'dash-03-contributions-participant');

  for (const [button, rows] of [['Site', 3], ['Stage of change', 2]] as const) {
    await page.getByRole('button', { name: button, exact: true }).click();
    await expect(page.getByRole('button', { name: button, exact: true })).toHaveAttribute('aria-pressed', 'true');
    await expect(page.getByTestId('matrix').locator('tbody tr')).toHaveCount(rows);
    await expect(page.getByTestId('matrix-total')).toHaveText(String(all.total));
  }
  await page.getByRole('button', { name: 'Level', exact: true }).click();
  await expect(page).toHaveURL(/by=level/);
  await expect(page.getByTestId('matrix').locator('tbody tr')).toHaveCount(3);
  await expect(page.getByTestId('matrix-total')).toHaveText(String(all.total));
  await page.getByLabel('Site').selectOption({ label: 'Site C' });
  await expect(page).toHaveURL(/by=level&site_id=/);
  const siteId = new URLSearchParams(page.url().split('?')[1]).get('site_id');
  expect(siteId).toBeTruthy();
  const cMatrix = await get<Matrix>(request, tok, `/dashboard/contributions/level?site_id=${siteId}`);
  expect(cMatrix.total).toBeLessThan(all.total);
  await expect(page.getByTestId('matrix-total')).toHaveText(String(cMatrix.total));
  // A date range is a filter too, and it goes into the address.
  await page.getByLabel('From').fill('2030-01-01');
  await expect(page).toHaveURL(/date_from=2030-01-01/);
  await expect(page.getByText('No tagged interventions in this selection.')).toBeVisible();
  await page.getByLabel('From').fill('');
  await page.getByLabel('Site').selectOption({ label: 'All sites' });
  await expect(page.getByTestId('matrix-total')).toHaveText(String(all.total));
  await capture(page, 'dash-04-contributions-level');

  // --- data quality: seven checks with the server's counts; the PI resolves a conflict ---------
  // Findings to review: a fieldworker's participant stub, and two fieldworkers' offline edits of
  // one meeting's title (the second, from a clock an hour ahead, wins and leaves a conflict).
  const sid = seed().demo.study_id;
  const [fw1, fw2] = [await demoToken(request, 'fw1'), await demoToken(request, 'fw2')];
  const siteA = totals.sites.find((x) => x.code === 'A') as unknown as { site_id: string };
  const stub = await request.post(`/api/v1/studies/${sid}/participants`, {
    headers: { Authorization: `Bearer ${fw1}` },
    data: { site_id: siteA.site_id, code: 'A-PR-99', role_title: 'Physiotherapy lead', level: 'project', background: 'other_clinical' },
  });
  expect(stub.status(), await stub.text()).toBe(201);
  const meeting = (await get<{ items: { id: string; version: number }[] }>(request, fw1, '/meetings?limit=1')).items[0]!;
  for (const [tok2, title, ahead] of [[fw1, 'Partnership Board (fw1)', 0], [fw2, 'Partnership Board (fw2)', 3600]] as const) {
    const at = new Date(Date.now() + ahead * 1000).toISOString();
    const res = await request.post('/api/v1/sync/push', {
      headers: { Authorization: `Bearer ${tok2}` },
      data: { protocol: 1, client_id: crypto.randomUUID(), device_time: at, mutations: [{ mutation_id: crypto.randomUUID(), client_seq: 1, entity: 'meeting', op: 'upsert', record_id: meeting.id, base_version: meeting.version, fields: { title }, device_time: at }] },
    });
    expect(res.status(), await res.text()).toBe(200);
  }
  await dashNav(page, 'Data quality').click();
  await expect(page.getByRole('heading', { name: 'Data quality', level: 1 })).toBeVisible();
  const quality = await get<Record<string, { count: number }>>(request, tok, '/dashboard/quality');
  const checks = { open: 'open_sessions', long: 'long_sessions', overlap: 'overlapping_sessions', skew: 'clock_skew', unsynced: 'unsynced_devices', conflicts: 'unresolved_conflicts', stubs: 'pending_participants' };
  await expect(page.locator('[data-testid^="check-"]')).toHaveCount(7);
  for (const [id, key] of Object.entries(checks)) await expect(page.getByTestId(`count-${id}`)).toHaveText(String(quality[key]!.count));
  expect([quality['unresolved_conflicts']!.count, quality['pending_participants']!.count]).toEqual([1, 1]);
  expect(quality['clock_skew']!.count).toBeGreaterThanOrEqual(1);
  await expect(page.getByTestId('check-stubs')).toContainText('A-PR-99');
  await expect(page.getByTestId('conflict-review')).toContainText('Partnership Board (fw1)');
  await capture(page, 'dash-05-quality');
  await desktop(page, 'dash-05-quality');
  await page.getByTestId('conflict-review').getByRole('button', { name: 'Keep current' }).click();
  await expect(page.getByTestId('count-conflicts')).toHaveText('0');

  // --- consent: withdraw A-EX-01 (confirmed), and their counts leave the matrix ----------------
  await dashNav(page, 'Consent').click();
  await expect(page.getByRole('heading', { name: 'Consent', level: 1 })).toBeVisible();
  await page.getByRole('button', { name: 'Withdraw consent of A-EX-01' }).click();
  await expect(page.getByRole('button', { name: 'Confirm withdrawal' })).toBeFocused();
  await capture(page, 'dash-06-consent-confirm');
  await page.getByRole('button', { name: 'Confirm withdrawal' }).click();
  await expect(page.getByTestId('consent-message')).toContainText('A-EX-01: consent withdrawn');
  await expect(page.locator('tr[data-code="A-EX-01"]')).toContainText('Withdrawn');
  await expect(page.getByRole('button', { name: 'Restore consent of A-EX-01' })).toBeVisible();

  await dashNav(page, 'Contributions').click();
  await expect(page.getByTestId('matrix-total')).toHaveText(String(all.total - leader.total));
  await expect(page.locator('tr[data-row="A-EX-01"]')).toHaveCount(0);
  await expect(page.getByTestId('excluded')).toContainText(`${all.excluded_participants + 1} participant`);
  await dashNav(page, 'Participants').click();
  await expect(page.getByTestId('without-consent-total')).toHaveText('1');

  // --- agreement: the server's kappa; the window control changes it ---------------------------
  await dashNav(page, 'Agreement').click();
  await expect(page.getByRole('heading', { name: 'Agreement', level: 1 })).toBeVisible();
  const fmtK = (k: number | null): string => (k == null ? '–' : k.toFixed(2));
  const a30 = await get<Agreement>(request, tok, '/dashboard/agreement');
  await expect(page.getByTestId('kappa')).toHaveText(fmtK(a30.overall.kappa));
  await expect(page.getByTestId('unmatched-total')).toHaveText(String(a30.unmatched_total));
  await page.getByLabel('Time window (seconds)').fill('600');
  await page.getByLabel('Time window (seconds)').press('Tab');
  await expect(page).toHaveURL(/window_seconds=600/);
  const a600 = await get<Agreement>(request, tok, '/dashboard/agreement?window_seconds=600');
  await expect(page.getByTestId('unmatched-total')).toHaveText(String(a600.unmatched_total));
  await expect(page.getByTestId('kappa')).toHaveText(fmtK(a600.overall.kappa));
  await capture(page, 'dash-07-agreement');
  await desktop(page, 'dash-07-agreement');

  // --- reversal, by the PI: the counts come back ---------------------------------------------
  await dashNav(page, 'Consent').click();
  await page.getByRole('button', { name: 'Restore consent of A-EX-01' }).click();
  await page.getByRole('button', { name: 'Confirm restore' }).click();
  await expect(page.getByTestId('consent-message')).toContainText('A-EX-01: consent restored');
  await capture(page, 'dash-08-consent');
  await dashNav(page, 'Contributions').click();
  await expect(page.getByTestId('matrix-total')).toHaveText(String(all.total));

  // --- offline: a clear message, not a blank screen ------------------------------------------
  await context.setOffline(true);
  await dashNav(page, 'Progress').click();
  await expect(page.locator('main').getByRole('alert')).toContainText('You are offline');
  await axe(page, 'dashboard offline');
  await context.setOffline(false);
});

test('an analyst reads the dashboard but cannot change consent', async ({ page, request }) => {
  await signInDemo(page, 'analyst');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
  await expect(page.getByTestId('total-hours')).toHaveText('49.0');
  await dashNav(page, 'Consent').click();
  await expect(page.getByText('Read-only: only the study’s PI can withdraw or restore consent.')).toBeVisible();
  await expect(page.locator('tr[data-code="A-EX-01"]')).toBeVisible();
  await expect(page.getByRole('button', { name: /Withdraw consent|Restore consent/ })).toHaveCount(0);
  await axe(page, 'consent, analyst');
  // The server agrees: an analyst's withdrawal is refused.
  const tok = await demoToken(request, 'analyst');
  const list = await get<{ items: { id: string; code: string }[] }>(request, tok, '/participants?limit=500');
  const p = list.items.find((x) => x.code === 'A-EX-01')!;
  const res = await request.patch(`/api/v1/studies/${seed().demo.study_id}/participants/${p.id}`, {
    headers: { Authorization: `Bearer ${tok}` }, data: { consent: 'withdrawn', consent_date: '2024-01-01' },
  });
  expect(res.status()).toBe(403);
});

test('a fieldworker sees no dashboard', async ({ page }) => {
  await signInDemo(page, 'fw1');
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Meetings' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Dashboard' })).toHaveCount(0);
  await page.goto('/#/dashboard/progress');
  await expect(page.getByText('The dashboard is for the study\'s PI and analysts.')).toBeVisible();
});
