import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig, secretBoxFrom } from '../config';
import { createDb } from '../db/knex';
import { resealAll } from '../db/reseal';
import { ensureDatabase, migrateLatest } from '../db/migrate';
import { createLogger } from '../log';
import { connectDeps, Running, runUntilSignal, startApi, startWorker } from '../processes';
import { DevServer, startDevServer } from './dev-server';
import { ensureTemporalCli } from './temporal-cli';
import { SEARCH_ATTRIBUTE_KEYS } from '../temporal/search-attributes';
import { ensureDemoAccount } from './demo-account';

const DATA_DIR = path.resolve(process.env.PINGBACK_DATA_DIR ?? 'data');
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/pingback';

/**
 * `pingback start`: PingBack on one machine with nothing else running. What the
 * user configured (TEMPORAL_ADDRESS, DATABASE_URL) is used as is; what they did
 * not is started or created here, with state kept under ./data.
 */
export async function start(): Promise<void> {
  fs.mkdirSync(DATA_DIR, { recursive: true });
  const userDb = !!process.env.DATABASE_URL;
  process.env.DATABASE_URL ||= DEFAULT_DATABASE_URL;
  // A local stack tries mail against the local mail sandbox (npm run sandbox:mail), on loopback.
  process.env.EMAIL_ALLOWED_HOSTS ??= '127.0.0.1,::1,localhost';
  process.env.PINGBACK_ADMIN_TOKEN ||= persistentSecret('admin-token', () => randomBytes(24).toString('base64url'));
  if (!process.env.PINGBACK_ENCRYPTION_KEY) {
    process.env.PINGBACK_ENCRYPTION_KEY = persistentSecret('encryption-key', () => randomBytes(32).toString('hex'));
    console.warn(
      `[pingback] WARNING: channel credentials are sealed with a development key kept in ${path.join(DATA_DIR, 'encryption-key')}; ` +
        'set PINGBACK_ENCRYPTION_KEY in production, and keep it: without it stored credentials cannot be read.',
    );
  }
  const say = (line: string) => console.log(`[pingback] ${line}`);

  let devServer: DevServer | undefined;
  let sdkServer: { teardown(): Promise<void> } | undefined;
  if (!process.env.TEMPORAL_ADDRESS) {
    const port = Number(process.env.TEMPORAL_DEV_PORT ?? 7233);
    const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? 8233);
    const cli = await ensureTemporalCli(say);
    if (cli) {
      devServer = await startDevServer({ cli, port, uiPort, dbFile: path.join(DATA_DIR, 'temporal.sqlite') });
      process.env.TEMPORAL_ADDRESS = devServer.address;
      // The dashboard links admins from a conversation to its workflow there.
      if (devServer.uiUrl) process.env.TEMPORAL_UI_URL ||= devServer.uiUrl;
      say(`Temporal dev server ${devServer.address}, state in ${path.join(DATA_DIR, 'temporal.sqlite')}`);
    } else {
      // No CLI and no Go: the SDK downloads its own dev server (needs internet).
      const { TestWorkflowEnvironment } = await import('@temporalio/testing');
      const env = await TestWorkflowEnvironment.createLocal({
        server: { ip: '127.0.0.1', port, ui: true, uiPort, dbFilename: path.join(DATA_DIR, 'temporal.sqlite'), searchAttributes: SEARCH_ATTRIBUTE_KEYS },
      });
      sdkServer = env;
      process.env.TEMPORAL_ADDRESS = `127.0.0.1:${port}`;
      process.env.TEMPORAL_UI_URL ||= `http://127.0.0.1:${uiPort}`;
    }
  }

  // Whatever fails after the dev server is up (a port taken, PostgreSQL down), the dev server stops with us.
  try {
    const config = loadConfig();
    // Readable lines on a terminal (pino-pretty); JSON when piped, as the api and worker write in production.
    const log = createLogger(config.LOG_LEVEL, { pretty: Boolean(process.stdout.isTTY) });
    if (!userDb && (await ensureDatabase(config.DATABASE_URL))) say(`created database ${new URL(config.DATABASE_URL).pathname.slice(1)}`);
    const applied = await migrateLatest(config.DATABASE_URL);
    if (applied.length) say(`migrations applied: ${applied.join(', ')}`);
    const sealDb = createDb(config.DATABASE_URL, { max: 1 });
    const sealed = await resealAll(sealDb, secretBoxFrom(config)).finally(() => sealDb.destroy());
    if (sealed.resealed) say(`re-sealed ${sealed.values} stored secrets with the current key`);
    for (const f of sealed.failed) say(`channel ${f.channel_id}: its secrets could not be re-sealed (${f.error})`);

    await runUntilSignal(async () => {
      const deps = connectDeps(config);
      let worker: Running | undefined;
      try {
        worker = await startWorker(config, log, deps);
        const api = await startApi(config, log, deps);
        say(`Dashboard    ${api.url}/`);
        say(`API          ${api.url}/api`);
        say(`Docs         ${api.url}/docs  (OpenAPI: ${api.url}/openapi.json)`);
        say(`Webhooks     ${config.PUBLIC_BASE_URL}/webhooks/<type>/<channel id>`);
        if (api.metricsUrl) say(`Metrics      ${api.metricsUrl}  (API_METRICS_ADDRESS; the worker's at WORKER_METRICS_ADDRESS)`);
        if (devServer?.uiUrl || sdkServer) say(`Temporal UI  ${devServer?.uiUrl ?? `http://127.0.0.1:${process.env.TEMPORAL_UI_PORT ?? 8233}`}`);
        say(`Admin token  in ${path.join(DATA_DIR, 'admin-token')}`);
        const demo = await ensureDemoAccount(deps.db, DATA_DIR, config.PUBLIC_BASE_URL);
        say(`Sign in      ${config.PUBLIC_BASE_URL}/  as ${demo.email}, password ${demo.password}  (kept in ${demo.file}${demo.created ? '; a new Demo account' : ''})`);
        say('Ctrl-C stops everything.');
        const started = worker;
        return {
          async stop() {
            say('stopping…');
            await api.stop();
            await started.stop();
            await deps.db.destroy();
          },
        };
      } catch (err) {
        await worker?.stop();
        await deps.db.destroy();
        throw err;
      }
    });
  } finally {
    await devServer?.stop();
    await sdkServer?.teardown();
  }
}

/** A dev secret made once and kept under ./data (never used when the variable is set). */
function persistentSecret(name: string, make: () => string): string {
  const file = path.join(DATA_DIR, name);
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const value = make();
  fs.writeFileSync(file, value + '\n', { mode: 0o600 });
  return value;
}
