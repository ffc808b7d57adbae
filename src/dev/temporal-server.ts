import { spawn } from 'node:child_process';
import path from 'node:path';
import { canConnect, DevServer, startDevServer, stopChild } from './dev-server';

export type TemporalKind = 'dev' | 'server';

/**
 * A Temporal for tests and the benchmark: the CLI's dev server (SQLite file,
 * fast to start) or the full server on PostgreSQL (scripts/temporal-server.sh),
 * the topology of docker-compose.yml and real deployments. Both keep their state
 * across stop and start, so outage tests can restart them.
 */
export async function startTemporal(opts: { kind: TemporalKind; port: number; cli: string; dbFile?: string; database?: string }): Promise<DevServer> {
  if (opts.kind === 'dev') return startDevServer({ cli: opts.cli, port: opts.port, dbFile: opts.dbFile, logLevel: 'error' });
  const script = path.resolve(__dirname, '../../scripts/temporal-server.sh');
  const child = spawn('bash', [script], {
    env: { ...process.env, TEMPORAL_SERVER_PORT: String(opts.port), TEMPORAL_SERVER_DB: opts.database ?? `pingback_temporal_${opts.port}`, TEMPORAL_CLI_PATH: opts.cli },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Temporal server not ready in 10 min:\n${output.slice(-2000)}`)), 600_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('Temporal server ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Temporal server exited (${code}):\n${output.slice(-2000)}`));
    });
  });
  return { address: `127.0.0.1:${opts.port}`, process: child, stop: () => stopChild(child, 20_000) };
}

/**
 * A frontend port for the full server: it also takes ports after it (up to +201), and
 * Temporal's cluster_membership table stores ports as smallint, so stay below 32768.
 */
export async function serverPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 12_000 + Math.floor(Math.random() * 80) * 250;
    const taken = await Promise.all([0, 1, 2, 6, 10, 100, 101, 102, 106, 200, 201].map((d) => canConnect('127.0.0.1', base + d)));
    if (!taken.some(Boolean)) return base;
  }
  throw new Error('no free port range for the Temporal server below 32768');
}

export function temporalKindFromEnv(): TemporalKind {
  const v = process.env.PINGBACK_TEST_TEMPORAL ?? 'dev';
  if (v !== 'dev' && v !== 'server') throw new Error(`PINGBACK_TEST_TEMPORAL must be dev or server, not ${v}`);
  return v;
}
