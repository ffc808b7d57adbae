import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { FullConfig } from '@playwright/test';
import { dropDatabase, migrateLatest, recreateDatabase } from '../../src/db/migrate';
import { freePort, onFreePort, stopChild } from '../../src/dev/dev-server';
import { ensureTemporalCli } from '../../src/dev/temporal-cli';
import { startTemporal } from '../../src/dev/temporal-server';
import { MetaFake } from '../../src/sandbox/meta';
import { TelegramFake } from '../../src/sandbox/telegram';
import { dashboardDir } from '../../src/http/dashboard';

const ROOT = path.resolve(__dirname, '../..');
export const E2E_ADMIN_TOKEN = 'e2e-admin-token-0123456789';

/** `pingback api` or `pingback worker` from the build, as an operator runs them, with the suite's environment. */
export function pingback(command: 'api' | 'worker', env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/cli.js'), command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = fs.createWriteStream(path.join(ROOT, 'test-results', `e2e-${command}-${child.pid}.log`));
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return child;
}

export async function waitForHealthy(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} did not become healthy`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * One PingBack for the whole run: a Temporal dev server, a fresh database, the Telegram
 * sandbox, and the api and worker started from the build (the dashboard is built by
 * `npm run build`, which `npm ci` runs). The tests find it through E2E_* variables.
 */
export default async function globalSetup(_config: FullConfig): Promise<() => Promise<void>> {
  if (!fs.existsSync(path.join(dashboardDir(), 'index.html')) || !fs.existsSync(path.join(ROOT, 'dist/src/cli.js'))) {
    throw new Error('PingBack is not built: run `npm run build` (npm ci does) before the end-to-end tests');
  }
  fs.mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
  // A database of this run's own: two runs on one machine do not empty each other's.
  const databaseUrl = process.env.E2E_DATABASE_URL ?? `postgres://postgres@127.0.0.1:5432/pingback_e2e_${process.pid}`;
  await recreateDatabase(databaseUrl);
  await migrateLatest(databaseUrl);
  const cli = await ensureTemporalCli((l) => console.log(l));
  if (!cli) throw new Error('no Temporal CLI: put one on PATH, set TEMPORAL_CLI_PATH, or install Go so it can be built');
  const temporal = await onFreePort(async () => startTemporal({ kind: 'dev', cli, port: await freePort() }));
  const telegram = await TelegramFake.start({ allowHttpWebhooks: true });
  const meta = await MetaFake.start();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: 'e2e',
    PINGBACK_ADMIN_TOKEN: E2E_ADMIN_TOKEN,
    PINGBACK_ENCRYPTION_KEY: 'e2'.repeat(32),
    TELEGRAM_API_BASE_URL: telegram.baseUrl,
    META_GRAPH_BASE_URL: meta.baseUrl,
    X_API_BASE_URL: 'http://127.0.0.1:9',
    PUBLIC_BASE_URL: url,
    HOST: '127.0.0.1',
    PORT: String(port),
    TEMPORAL_UI_URL: 'http://127.0.0.1:8233',
    WORKER_INSTANCES: '1',
    LOG_LEVEL: 'warn',
  };
  const worker = pingback('worker', env);
  const api = pingback('api', env);
  await waitForHealthy(url);
  Object.assign(process.env, { E2E_URL: url, E2E_ADMIN_TOKEN, E2E_TELEGRAM_URL: telegram.baseUrl, E2E_META_URL: meta.baseUrl, E2E_ENV: JSON.stringify(env) });
  return async () => {
    await Promise.all([stopChild(api), stopChild(worker)]);
    await Promise.all([telegram.stop(), meta.stop()]);
    await temporal.stop();
    if (!process.env.E2E_DATABASE_URL) await dropDatabase(databaseUrl);
  };
}
