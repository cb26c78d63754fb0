/** Shared steps for the browser tests: the seeded world, sign-in, API reads, axe, screenshots. */
import { expect, type APIRequestContext, type Page } from '@playwright/test';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-artifacts');

export interface Seed {
  study_id: string;
  sites: Record<string, string>;
  participants: Record<string, string>;
  codebook_version_id: string;
  users: Record<'fw' | 'fw2' | 'pi', { id: string; email: string }>;
  static_dir: string;
  base_url: string;
  /** The synthetic demo study (backend/fieldscope/demo), its accounts signing in with `password`. */
  demo: { study_id: string; users: Record<'pi' | 'fw1' | 'fw2' | 'analyst', { email: string; display_name: string }> };
  password: string;
}

export function seed(): Seed {
  return JSON.parse(readFileSync(join(process.env.FIELDSCOPE_E2E_DIR!, 'seed.json'), 'utf8')) as Seed;
}

export async function token(request: APIRequestContext, who: 'fw' | 'fw2' | 'pi'): Promise<string> {
  const s = seed();
  const res = await request.post('/api/v1/auth/login', { data: { email: s.users[who].email, password: s.password, device_label: 'e2e check' } });
  expect(res.ok()).toBeTruthy();
  return ((await res.json()) as { token: string }).token;
}

/** Every record the user can see, as the server holds it now (the change log folded by id). */
export async function serverState(request: APIRequestContext, tok: string): Promise<Map<string, Record<string, unknown> & { entity: string }>> {
  const out = new Map<string, Record<string, unknown> & { entity: string }>();
  let cursor = 0;
  for (let i = 0; i < 1000; i++) {
    const res = await request.get(`/api/v1/sync/pull?cursor=${cursor}&limit=1000`, { headers: { Authorization: `Bearer ${tok}` } });
    expect(res.status(), await res.text()).toBe(200);
    const page = (await res.json()) as { changes: { entity: string; record_id: string; data: Record<string, unknown> }[]; next_cursor: number; has_more: boolean };
    for (const c of page.changes) out.set(`${c.entity}:${c.record_id}`, { ...c.data, entity: c.entity });
    cursor = page.next_cursor;
    if (!page.has_more) break;
  }
  return out;
}

export async function siteSeconds(request: APIRequestContext, tok: string, siteCode: string): Promise<number> {
  const s = seed();
  const res = await request.get(`/api/v1/studies/${s.study_id}/totals`, { headers: { Authorization: `Bearer ${tok}` } });
  expect(res.status(), await res.text()).toBe(200);
  const body = (await res.json()) as { sites: { code: string; seconds: number }[] };
  return body.sites.find((x) => x.code === siteCode)!.seconds;
}

export async function signIn(page: Page, who: 'fw' | 'fw2' | 'pi' = 'fw'): Promise<void> {
  const s = seed();
  await page.goto('/');
  await page.getByLabel('Email').fill(s.users[who].email);
  await page.getByLabel('Password').fill(s.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Meetings' })).toBeVisible();
  await synced(page);
}

/** Wait until the app reports nothing unsent and a finished sync. */
export async function synced(page: Page): Promise<void> {
  await expect(page.getByTestId('pending-count')).toHaveAttribute('data-pending', '0', { timeout: 30_000 });
  await expect(page.getByTestId('sync-status')).toContainText('Online', { timeout: 30_000 });
}

export async function pending(page: Page): Promise<number> {
  return Number(await page.getByTestId('pending-count').getAttribute('data-pending'));
}

/** The service worker is active and controls the page, so an offline reload is served. */
export async function swReady(page: Page): Promise<void> {
  await page.evaluate(async () => { await navigator.serviceWorker.ready; });
  if (!(await page.evaluate(() => !!navigator.serviceWorker.controller))) {
    await page.reload();
    await page.evaluate(async () => { await navigator.serviceWorker.ready; });
  }
  expect(await page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
}

export async function axe(page: Page, screen: string): Promise<void> {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  const result = await page.evaluate(async () => {
    const w = window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } };
    return w.axe.run(document, { resultTypes: ['violations'] });
  });
  const summary = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  expect(summary, `axe violations on ${screen}`).toEqual([]);
}

/** Screenshots of the current screen at tablet landscape and portrait, plus an axe scan of each. */
export async function capture(page: Page, name: string): Promise<void> {
  const dir = join(ARTIFACTS, 'screens');
  mkdirSync(dir, { recursive: true });
  const original = page.viewportSize();
  for (const [w, h] of [[1024, 768], [768, 1024]] as const) {
    await page.setViewportSize({ width: w, height: h });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(150);
    await axe(page, `${name} at ${w}x${h}`);
    await page.screenshot({ path: join(dir, `${name}-${w}x${h}.png`), fullPage: false });
  }
  if (original) await page.setViewportSize(original);
}

export async function createMeeting(page: Page, title: string, site = 'A', level = 'Thematic'): Promise<string> {
  await page.getByRole('link', { name: 'New meeting' }).click();
  await page.getByRole('radio', { name: new RegExp(`^${site} ·`) }).check();
  await page.getByRole('radio', { name: level }).check();
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Theme').fill('urgent care');
  await page.getByRole('radio', { name: 'Collaborative delivery' }).check();
  await page.getByRole('button', { name: 'Save meeting' }).click();
  await expect(page.getByRole('heading', { name: title })).toBeVisible();
  return page.url().split('/meetings/')[1]!;
}

export async function attend(page: Page, codes: string[]): Promise<void> {
  for (const code of codes) {
    const box = page.locator('label.check-row', { hasText: code }).getByRole('checkbox');
    await box.check();
    await expect(box).toBeChecked();
  }
}

export async function startObservation(page: Page): Promise<string> {
  await page.getByRole('button', { name: 'Start observation' }).click();
  await expect(page.getByTestId('clock')).toBeVisible();
  return page.url().split('/sessions/')[1]!.split('/')[0]!;
}

export const CONTRIBUTIONS = ['Analytical insight', 'Representation', 'Translation and communication', 'Relational'];

/** Tag n interventions, alternating leaders and contributions; half by tap, half by key. */
export async function tagMany(page: Page, leaders: string[], n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) {
    const leader = page.getByRole('radio', { name: new RegExp(`^${leaders[i % leaders.length]}`) });
    if ((await leader.getAttribute('aria-checked')) !== 'true') await leader.click();
    if (i % 2 === 0) await page.getByRole('button', { name: new RegExp(`^${CONTRIBUTIONS[i % 4]}`) }).click();
    else await page.keyboard.press(String((i % 4) + 1));
  }
}

/** Count of live interventions of a session in the page's IndexedDB. */
export async function localTagIds(page: Page, sessionId: string): Promise<string[]> {
  return page.evaluate(async (sid) => {
    const req = indexedDB.open('fieldscope');
    const db: IDBDatabase = await new Promise((res, rej) => { req.onsuccess = () => res(req.result); req.onerror = () => rej(req.error); });
    const rows: { entity: string; parent: string; id: string; data: { deleted_at?: string | null } }[] = await new Promise((res, rej) => {
      const r = db.transaction('records').objectStore('records').getAll();
      r.onsuccess = () => res(r.result as never); r.onerror = () => rej(r.error);
    });
    db.close();
    return rows.filter((x) => x.entity === 'intervention' && x.parent === sid && !x.data.deleted_at).map((x) => x.id).sort();
  }, sessionId);
}
