#!/usr/bin/env node
// PWA budgets, measured in Debian's headless Chromium against the real server (rerunnable):
//   initial JavaScript <= 100 KB gzip; tap -> IndexedDB commit p95 <= 16 ms with 5,000
//   interventions stored; cold reload of the app shell while offline <= 1 s.
// Usage: (cd frontend && npm run build) && node scripts/bench_pwa.mjs [--taps 200] [--stored 5000]
// Prints a JSON report and exits 1 when a budget is missed.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { randomUUID } from 'node:crypto';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FRONTEND = join(ROOT, 'frontend');
const require = createRequire(join(FRONTEND, 'package.json'));
const { chromium } = require('playwright-core');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const TAPS = arg('taps', 200);
const STORED = arg('stored', 5000);
const PORT = arg('port', 20000 + ((process.pid + 7) % 20000));
const TAP_GAP_MS = arg('tap-gap-ms', 150);
const BASE = `http://127.0.0.1:${PORT}`;
const PROFILE = process.argv.includes('--profile');

// Self time per function over the tap loop (CPU profile), the 25 heaviest, for --profile.
function topFunctions(profile) {
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const dt = profile.timeDeltas;
  profile.samples.forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const key = `${f.functionName || '(anon)'} ${f.url.split('/').pop()}:${f.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0) / 1000);
  });
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, ms]) => `${ms.toFixed(1)} ms  ${k}`);
}
const BUDGET = { initial_js_gzip_kb: 100, tap_commit_p95_ms: 16, offline_cold_reload_ms: 1000 };
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]; };
const round = (x) => Math.round(x * 100) / 100;

let serverExited = false;

async function waitFor(url, ms = 120_000) {
  const end = Date.now() + ms;
  while (Date.now() < end && !serverExited) {
    try { if ((await fetch(url)).ok) return; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`server did not start at ${url}`);
}

async function api(path, token, body) {
  const res = await fetch(`${BASE}/api/v1${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'fieldscope-bench-'));
  const server = spawn('uv', ['run', '--frozen', 'python', 'e2e/server.py', '--port', String(PORT), '--workdir', work], { cwd: FRONTEND, stdio: ['ignore', 'inherit', 'inherit'] });
  server.on('exit', () => { serverExited = true; });
  const report = { budgets: BUDGET, machine: `${process.platform} ${process.arch}, ${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at start`, taps: TAPS, tap_gap_ms: TAP_GAP_MS, stored_interventions: STORED };
  let browser;
  try {
    await waitFor(`${BASE}/api/v1/health`);
    const seed = JSON.parse(readFileSync(join(work, 'seed.json'), 'utf8'));
    const login = await api('/auth/login', null, { email: seed.users.fw.email, password: seed.password });

    // 1. Initial JavaScript: every script the first load fetches, gzipped as served.
    browser = await chromium.launch({ executablePath: process.env.FIELDSCOPE_CHROMIUM || '/usr/bin/chromium', args: ARGS });
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, hasTouch: true });
    let page = await context.newPage();
    const scripts = new Set();
    page.on('request', (r) => { if (r.resourceType() === 'script') scripts.add(new URL(r.url()).pathname); });
    await page.goto(BASE);
    await page.getByLabel('Email').waitFor();
    await page.waitForLoadState('networkidle');
    const staticDir = join(work, 'static');
    let gz = 0;
    const files = [];
    for (const p of scripts) {
      const bytes = readFileSync(join(staticDir, p));
      const size = gzipSync(bytes, { level: 9 }).length;
      gz += size;
      files.push({ file: p, bytes: bytes.length, gzip: size });
    }
    report.initial_js = { files, total_gzip_kb: round(gz / 1024) };
    report.service_worker_gzip_kb = round(gzipSync(readFileSync(join(staticDir, 'sw.js')), { level: 9 }).length / 1024);
    report.all_assets_js_gzip_kb = round(readdirSync(join(staticDir, 'assets')).filter((f) => f.endsWith('.js'))
      .reduce((n, f) => n + gzipSync(readFileSync(join(staticDir, 'assets', f)), { level: 9 }).length, 0) / 1024);

    // Sign in, create a meeting and a session through the UI; wait for the SW to control.
    await page.getByLabel('Email').fill(seed.users.fw.email);
    await page.getByLabel('Password').fill(seed.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'New meeting' }).click();
    await page.getByRole('radio', { name: /^A ·/ }).check();
    await page.getByRole('radio', { name: 'Executive' }).check();
    await page.getByLabel('Title').fill('Bench board');
    await page.getByRole('button', { name: 'Save meeting' }).click();
    for (const code of ['A-EX-01', 'A-TH-01']) await page.locator('label.check-row', { hasText: code }).getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Start observation' }).click();
    await page.getByTestId('clock').waitFor();
    const sessionId = page.url().split('/sessions/')[1];
    await page.evaluate(async () => { await navigator.serviceWorker.ready; });
    await page.getByRole('button', { name: 'Sync now' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]')?.getAttribute('data-pending') === '0', null, { timeout: 60_000 });

    // 2. 5,000 interventions stored on the tablet: pushed by another install of the same
    //    fieldworker, then pulled into this one (the same path a week of tagging takes).
    const clientId = randomUUID();
    const t0 = Date.now();
    for (let seq = 1; seq <= STORED; seq += 500) {
      const mutations = [];
      for (let i = seq; i < Math.min(seq + 500, STORED + 1); i++) {
        mutations.push({
          mutation_id: randomUUID(), client_seq: i, entity: 'intervention', op: 'upsert', record_id: randomUUID(), base_version: null,
          device_time: new Date().toISOString(),
          fields: { session_id: sessionId, participant_id: seed.participants[i % 2 ? 'A-EX-01' : 'A-TH-01'], codebook_version_id: seed.codebook_version_id,
            code_key: ['analytical_insight', 'representation', 'translation_communication', 'relational'][i % 4], form_key: null,
            offset_seconds: i, device_time: new Date().toISOString(), quote: '', note: '', agenda_item: '' },
        });
      }
      const out = await api('/sync/push', login.token, { protocol: 1, client_id: clientId, device_time: new Date().toISOString(), mutations });
      if (out.results.some((r) => r.outcome === 'rejected')) throw new Error(`seed rejected: ${JSON.stringify(out.results.find((r) => r.outcome === 'rejected'))}`);
    }
    report.seed_push_seconds = round((Date.now() - t0) / 1000);
    const t1 = Date.now();
    await page.getByRole('button', { name: 'Sync now' }).click();
    await page.waitForFunction((n) => /\((\d+) tagged\)/.test(document.body.innerText) && Number(/\((\d+) tagged\)/.exec(document.body.innerText)[1]) >= n, STORED, { timeout: 300_000 });
    report.pull_into_tablet_seconds = round((Date.now() - t1) / 1000);
    report.records_on_tablet = await page.evaluate(async () => {
      const req = indexedDB.open('fieldscope');
      const db = await new Promise((res) => { req.onsuccess = () => res(req.result); });
      const n = await new Promise((res) => { const r = db.transaction('records').objectStore('records').count(); r.onsuccess = () => res(r.result); });
      db.close();
      return n;
    });

    // 3. Tap -> IndexedDB commit, offline (the meeting room), alternating keys and taps.
    await context.setOffline(true);
    await page.getByRole('radio', { name: /^A-EX-01/ }).click();
    await page.evaluate(() => { window.__fieldscopeTapMs = []; window.__fieldscopeTapPhases = []; });
    // Half the tags by touch (a tablet: touchscreen taps at the buttons' centres, no test-tool
    // checks in between), half by keys 1-4.
    const buttons = ['Analytical insight', 'Representation', 'Translation and communication', 'Relational'];
    const boxes = [];
    for (const name of buttons) boxes.push(await page.getByRole('button', { name: new RegExp(`^${name}`) }).boundingBox());
    const cdp = PROFILE ? await context.newCDPSession(page) : null;
    if (cdp) { await cdp.send('Profiler.enable'); await cdp.send('Profiler.setSamplingInterval', { interval: 100 }); await cdp.send('Profiler.start'); }
    for (let i = 0; i < TAPS; i++) {
      const box = boxes[i % 4];
      if (i % 2) await page.keyboard.press(String((i % 4) + 1));
      else await page.touchscreen.tap(box.x + box.width / 2, box.y + box.height / 2);
      await page.waitForFunction((n) => (window.__fieldscopeTapMs ?? []).length >= n, i + 1);
      // A brisk human cadence (several taps a second), so each tap meets a settled screen.
      await page.waitForTimeout(TAP_GAP_MS);
    }
    if (cdp) report.profile_top = topFunctions((await cdp.send('Profiler.stop')).profile);
    const taps = await page.evaluate(() => window.__fieldscopeTapMs);
    const phases = await page.evaluate(() => window.__fieldscopeTapPhases);
    const waits = phases.map((p) => p.wait);
    const writes = phases.map((p) => p.write);
    const byTouch = taps.filter((_, i) => i % 2 === 0);
    const byKey = taps.filter((_, i) => i % 2 === 1);
    report.tap_commit_ms = {
      n: taps.length, p50: round(pct(taps, 50)), p95: round(pct(taps, 95)), max: round(Math.max(...taps)),
      input_wait_p50: round(pct(waits, 50)), input_wait_p95: round(pct(waits, 95)),
      write_p50: round(pct(writes, 50)), write_p95: round(pct(writes, 95)),
      touch_p50: round(pct(byTouch, 50)), touch_p95: round(pct(byTouch, 95)),
      key_p50: round(pct(byKey, 50)), key_p95: round(pct(byKey, 95)),
    };

    // Floor for reference: the same three writes as one raw IndexedDB transaction, no Dexie,
    // no app (then removed again), on the same database at the same moment.
    report.raw_indexeddb_write_ms = await page.evaluate(async () => {
      const req = indexedDB.open('fieldscope');
      const db = await new Promise((res) => { req.onsuccess = () => res(req.result); });
      const times = [];
      for (let i = 0; i < 100; i++) {
        const id = `bench-${i}`;
        const t0 = performance.now();
        await new Promise((res, rej) => {
          const tx = db.transaction(['records', 'outbox', 'meta'], 'readwrite');
          tx.objectStore('records').put({ entity: 'bench', id, parent: 'x', server: null, data: { id, quote: '', note: '' }, gone: 0 });
          tx.objectStore('outbox').put({ client_id: 'bench', client_seq: i, mutation_id: id, record_id: id, status: 'bench', fields: {} });
          tx.objectStore('meta').put({ key: 'bench', value: i });
          tx.oncomplete = res; tx.onerror = () => rej(tx.error);
        });
        times.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((res) => {
        const tx = db.transaction(['records', 'outbox', 'meta'], 'readwrite');
        tx.objectStore('records').delete(IDBKeyRange.bound(['bench', ''], ['bench', '\uffff']));
        tx.objectStore('outbox').delete(IDBKeyRange.bound(['bench', 0], ['bench', 1e9]));
        tx.objectStore('meta').delete('bench');
        tx.oncomplete = res;
      });
      db.close();
      times.sort((a, b) => a - b);
      return { p50: Math.round(times[50] * 100) / 100, p95: Math.round(times[95] * 100) / 100 };
    });

    // 4. Cold reload offline: a new tab on the live session, served by the service worker
    //    from cache, data from IndexedDB; time to the first screen with data.
    const shell = [];
    const live = [];
    for (let i = 0; i < 5; i++) {
      await page.close();
      page = await context.newPage();
      await page.goto(`${BASE}/#/sessions/${sessionId}`);
      await page.waitForFunction(() => performance.getEntriesByName('fieldscope:live-ready').length > 0, null, { timeout: 30_000 });
      const marks = await page.evaluate(() => ({
        ready: performance.getEntriesByName('fieldscope:ready')[0]?.startTime ?? NaN,
        live: performance.getEntriesByName('fieldscope:live-ready')[0].startTime,
      }));
      shell.push(marks.ready);
      live.push(marks.live);
    }
    report.offline_cold_reload_ms = {
      runs: live.length, shell_median: round(pct(shell, 50)), shell_max: round(Math.max(...shell)),
      live_screen_with_data_median: round(pct(live, 50)), live_screen_with_data_max: round(Math.max(...live)),
    };
    await context.close();
  } finally {
    await browser?.close();
    server.kill('SIGTERM');
  }
  const misses = [];
  if (report.initial_js.total_gzip_kb > BUDGET.initial_js_gzip_kb) misses.push('initial JS');
  if (report.tap_commit_ms.p95 > BUDGET.tap_commit_p95_ms) misses.push('tap -> commit p95');
  if (report.offline_cold_reload_ms.live_screen_with_data_max > BUDGET.offline_cold_reload_ms) misses.push('offline cold reload');
  report.load_average_at_end = loadavg().map((x) => round(x));
  report.within_budget = misses.length === 0;
  report.missed = misses;
  console.log(JSON.stringify(report, null, 2));
  process.exit(misses.length ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(2); });
