import { defineConfig } from '@playwright/test';

/**
 * End-to-end: the dashboard in Debian's Chromium (no browser download: CHROMIUM_PATH or
 * /usr/bin/chromium) against a real PingBack, its api and worker as processes of their own,
 * and the platform sandboxes (test/e2e/global-setup.ts).
 */
export default defineConfig({
  testDir: 'test/e2e',
  timeout: 120_000,
  expect: { timeout: 20_000 },
  // One PingBack, one browser at a time: the tests share nothing but the server, and two cores.
  workers: 1,
  fullyParallel: false,
  reporter: [['list'], ['json', { outputFile: 'test-results/playwright.json' }]],
  outputDir: 'test-results/e2e-artifacts',
  globalSetup: './test/e2e/global-setup.ts',
  use: {
    browserName: 'chromium',
    viewport: { width: 1360, height: 820 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      // As root in a container: no sandbox; and nothing that calls out to Google's services, which are unreachable here.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
});
