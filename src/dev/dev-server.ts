import { ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { Connection } from '@temporalio/client';
import { devServerSearchAttributeFlags } from '../temporal/search-attributes';

export interface DevServerOptions {
  cli: string;
  port: number;
  uiPort?: number; // omitted: headless
  dbFile?: string; // omitted: in memory
  ip?: string;
  logLevel?: string;
  metricsPort?: number; // omitted: a free one the CLI picks (and does not report back)
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  /** Prometheus endpoint, when a metrics port was asked for. */
  metricsUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `temporal server start-dev` and resolves once its frontend accepts connections. */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const args = [
    'server',
    'start-dev',
    '--ip',
    ip,
    '--port',
    String(opts.port),
    '--log-level',
    opts.logLevel ?? 'warn',
    ...devServerSearchAttributeFlags(),
    // One partition per task queue: the dev server is a single node, and with the default four a
    // new conversation's first workflow task often landed on a partition no poller waited on, to
    // be written to SQLite and forwarded instead of handed over. (Writing to one partition while
    // reading four was tried: polls on the other three wait for forwarding, and replies slowed.)
    // A data file from before this setting may hold tasks in partitions 1-3, which are no longer
    // read: see docs/development.md, "Upgrading the dev data".
    '--dynamic-config-value',
    'matching.numTaskqueueReadPartitions=1',
    '--dynamic-config-value',
    'matching.numTaskqueueWritePartitions=1',
    // The history service's cache of workflow state: the dev server caps it at 8,096 workflows
    // (a full server at 128,000). Past that, every message to a conversation whose state was
    // evicted costs a database read first, though PingBack's worker (10,000 cached by default)
    // still holds it. Room for twice the worker's default.
    '--dynamic-config-value',
    'history.hostLevelCacheMaxSize=20000',
  ];
  if (opts.dbFile) {
    // WAL with synchronous=NORMAL: survives a crash of the server process; only an OS crash can
    // lose the last transactions. The default (a full fsync per write) makes a VM's disk the
    // bottleneck of the whole dev stack.
    args.push('--db-filename', opts.dbFile, '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  if (opts.uiPort) args.push('--ui-port', String(opts.uiPort));
  else args.push('--headless');
  if (opts.metricsPort) args.push('--metrics-port', String(opts.metricsPort));
  const child = spawn(opts.cli, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));

  const deadline = Date.now() + 60_000;
  while (!(await canConnect(ip, opts.port))) {
    if (exited !== null) throw new Error(`temporal dev server exited with code ${exited} before it was ready`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`temporal dev server did not listen on ${ip}:${opts.port} within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // The port accepts connections a moment before the frontend serves: until then calls fail with
  // "Frontend is not healthy yet" (seen in CI, a worker connecting at once after a restart).
  while (!(await frontendServes(`${ip}:${opts.port}`))) {
    if (exited !== null) throw new Error(`temporal dev server exited with code ${exited} before it was ready`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`temporal dev server on ${ip}:${opts.port} did not serve within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    address: `${ip}:${opts.port}`,
    uiUrl: opts.uiPort ? `http://${ip}:${opts.uiPort}` : undefined,
    metricsUrl: opts.metricsPort ? `http://${ip}:${opts.metricsPort}/metrics` : undefined,
    process: child,
    stop: () => stopChild(child),
  };
}

export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Whether the frontend answers GetSystemInfo, the call every client and worker makes first. */
async function frontendServes(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 2_000 }).catch(() => undefined);
  if (!connection) return false;
  try {
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection.close();
  }
}

export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * Starts a server on a port picked by `freePort` (passed to `start`), again on another port
 * when it exits before it is ready. Between picking a port and binding it, something else may
 * take it: the dev server itself picks free ports for its internal services and can land on
 * the one chosen for its frontend ("bind: address already in use", seen once in CI).
 */
export async function onFreePort<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await start();
    } catch (err) {
      if (i >= attempts || !/exited with code .* before it was ready/.test((err as Error).message)) throw err;
    }
  }
}
