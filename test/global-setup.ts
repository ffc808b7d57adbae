import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { bundleOptions } from '../src/temporal/workflow-bundle';
import { ensureDatabase, migrateLatest } from '../src/db/migrate';
import { freePort, onFreePort } from '../src/dev/dev-server';
import { serverPort, startTemporal, temporalKindFromEnv } from '../src/dev/temporal-server';
import { ensureTemporalCli } from '../src/dev/temporal-cli';
import { quietLogger } from './helpers/runtime';

/**
 * One real Temporal dev server and one migrated test database for the whole run.
 * Nothing here skips: without PostgreSQL or Temporal the suite fails.
 */
export default async function globalSetup(): Promise<void> {
  const databaseUrl = (process.env.TEST_DATABASE_URL ||= 'postgres://postgres@127.0.0.1:5432/pingback_test');
  await ensureDatabase(databaseUrl);
  await migrateLatest(databaseUrl);

  if (!process.env.TEST_TEMPORAL_ADDRESS) {
    const cli = await ensureTemporalCli((l) => console.log(l));
    if (!cli) throw new Error('no Temporal CLI: put one on PATH, set TEMPORAL_CLI_PATH, or install Go so it can be built');
    process.env.TEMPORAL_CLI_PATH = cli;
    // PINGBACK_TEST_TEMPORAL=server: the full server on PostgreSQL instead of the dev server.
    const kind = temporalKindFromEnv();
    const server = await onFreePort(async () =>
      startTemporal({ kind, cli, port: kind === 'server' ? await serverPort() : await freePort(), database: 'pingback_test_temporal' }),
    );
    (globalThis as any).__TEMPORAL_DEV_SERVER__ = server;
    process.env.TEST_TEMPORAL_ADDRESS = server.address;
  }

  // Bundling workflows takes seconds; do it once, every test worker loads the result.
  const dir = path.resolve(__dirname, '../test-results');
  fs.mkdirSync(dir, { recursive: true });
  // The bundle PingBack's worker runs (its failure converter included), without traces.
  const { code } = await bundleWorkflowCode({ ...bundleOptions({ traced: false }), logger: quietLogger });
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, code);
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
}

