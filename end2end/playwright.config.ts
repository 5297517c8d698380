import { defineConfig, devices } from '@playwright/test';
import { e2eDatabase, latchkey as baseURL, port } from './tests/fixtures';

// The server under test. `make test-e2e` builds it and passes LATCHKEY_BIN
// and LATCHKEY_SITE_ROOT, and picks a port of its own. Without LATCHKEY_BIN
// the run fails: global-setup.ts needs the binary's CLI to create the apps.
const bin = process.env.LATCHKEY_BIN;
// The browser: CHROMIUM (what `make test-e2e` passes, found by
// scripts/install-tools.sh check-chromium), or the older CHROMIUM_PATH, or
// Debian's. Never Playwright's own download.
const chromium = process.env.CHROMIUM || process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export default defineConfig({
  testDir: './tests',
  // After webServer is up: creates the suite's apps with the CLI, or fails the run.
  globalSetup: './global-setup.ts',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 2,
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  outputDir: 'test-results',
  use: {
    baseURL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: {
          executablePath: chromium,
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
          ],
        },
      },
    },
  ],
  webServer: {
    // A fresh SQLite file per run, so the suite never sees yesterday's data.
    command: bin
      // Loopback is a trusted proxy, so a spec may act as its own client
      // address (X-Forwarded-For) and keep out of the others' per-IP budgets.
      ? `rm -f e2e.db && "${bin}" serve --listen localhost:${port} --public-url ${baseURL} --trusted-proxy 127.0.0.1 --trusted-proxy ::1`
      : `echo "no server on ${baseURL}: run make test, or cargo leptos end-to-end" && exit 1`,
    env: {
      DATABASE_URL: e2eDatabase,
      ...(process.env.LATCHKEY_SITE_ROOT ? { LATCHKEY_SITE_ROOT: process.env.LATCHKEY_SITE_ROOT } : {}),
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
    },
    url: `${baseURL}/readyz`,
    reuseExistingServer: !bin,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
