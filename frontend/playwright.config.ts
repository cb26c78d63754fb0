import { defineConfig } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// One real server per run (temp SQLite, seeded, serving a copy of the build). Workers inherit
// the directory through the environment so they read the same seed.json.
process.env.FIELDSCOPE_E2E_DIR ??= mkdtempSync(join(tmpdir(), 'fieldscope-e2e-'));
// A port of this run's own (other people's servers may be on the usual ones); workers inherit it.
process.env.FIELDSCOPE_E2E_PORT ??= String(20000 + (process.pid % 20000));
const port = Number(process.env.FIELDSCOPE_E2E_PORT);
export const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export default defineConfig({
  testDir: 'e2e',
  timeout: 180_000,
  expect: { timeout: 15_000 },
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: '../test-artifacts/playwright',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    viewport: { width: 1024, height: 768 },
    serviceWorkers: 'allow',
    actionTimeout: 20_000,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.FIELDSCOPE_CHROMIUM || '/usr/bin/chromium',
      args: chromiumArgs,
    },
  },
  webServer: {
    command: `uv run --frozen python e2e/server.py --port ${port} --workdir ${process.env.FIELDSCOPE_E2E_DIR}`,
    url: `http://127.0.0.1:${port}/api/v1/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
