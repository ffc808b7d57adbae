import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { configSchema, Config, secretBoxFrom } from '../../src/config';
import { ChannelSecretField, openChannelSecret } from '../../src/channels/credentials';
import { createDb, Db } from '../../src/db/knex';
import { createLogger, type Logger } from '../../src/log';
import { startApi } from '../../src/processes';
import { WorkerGroup } from '../../src/temporal/worker';
import { createTemporalClient } from '../../src/temporal/client';
import { freePort } from '../../src/dev/dev-server';
import { quietTemporalRuntime } from './runtime';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const TEST_ENCRYPTION_KEY = 'a1'.repeat(32);

export interface Stack {
  url: string;
  /** The api's Prometheus endpoint, when API_METRICS_ADDRESS was given. */
  metricsUrl?: string;
  db: Db;
  temporal: Client;
  config: Config;
  log: Logger & { lines: string[] };
  /** Stops the worker only (the API keeps answering): for crash and outage tests. */
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  /** The running worker process's SDK workers, if started. */
  workers(): WorkerGroup | undefined;
  stop(): Promise<void>;
}

/** The real logger, its lines captured: tests check that no secret ever reaches a log line. */
function captureLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = createLogger('debug', { destination: { write: (line: string) => void lines.push(line.trimEnd()) } });
  return Object.assign(log, { lines });
}

/**
 * The real thing, in-process: the Koa app on an ephemeral port and a worker on a
 * task queue of its own, against the suite's PostgreSQL and Temporal dev server.
 */
export async function startStack(
  overrides: Partial<Record<keyof Config, string>> = {},
  /** workflowBundle: another bundle's path than the suite's (the traced one, test/helpers/tracing.ts). */
  opts: { worker?: boolean; workflowBundle?: string } = {},
): Promise<Stack> {
  quietTemporalRuntime();
  // The public URL must be known before the app is built: channels' callback URLs come from it.
  const port = await freePort();
  const config = configSchema.parse({
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: process.env.TEST_DATABASE_URL,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
    TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
    PINGBACK_ADMIN_TOKEN: ADMIN_TOKEN,
    PINGBACK_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    // No test reaches a real platform by accident: nothing listens on the discard port.
    TELEGRAM_API_BASE_URL: 'http://127.0.0.1:9',
    META_GRAPH_BASE_URL: 'http://127.0.0.1:9',
    X_API_BASE_URL: 'http://127.0.0.1:9',
    // The tests' mail servers listen on loopback.
    EMAIL_ALLOWED_HOSTS: '127.0.0.1,::1,localhost',
    PORT: String(port),
    HOST: '127.0.0.1',
    ...overrides,
  });
  const db = createDb(config.DATABASE_URL, { max: 10 });
  const secrets = secretBoxFrom(config);
  const temporal = createTemporalClient({ connection: { address: config.TEMPORAL_ADDRESS }, namespace: config.TEMPORAL_NAMESPACE, secrets, tracing: Boolean(config.OTEL_EXPORTER_OTLP_ENDPOINT) });
  const log = captureLogger();
  // The api as `pingback api` starts it (metrics included, when the config asks for them).
  const api = await startApi(config, log, { db, secrets, temporal });

  let running: { workers: WorkerGroup; done: Promise<void> } | undefined;
  const startWorker = async () => {
    const workers = await WorkerGroup.create({
      config,
      db,
      secrets,
      temporal,
      workflowBundle: { codePath: opts.workflowBundle ?? process.env.TEST_WORKFLOW_BUNDLE! },
    });
    running = { workers, done: workers.run() };
  };
  const stopWorker = async () => {
    if (!running) return;
    running.workers.shutdown();
    await running.done;
    await running.workers.close();
    running = undefined;
  };
  if (opts.worker !== false) await startWorker();

  return {
    url: api.url,
    metricsUrl: api.metricsUrl,
    db,
    temporal,
    config,
    log,
    startWorker,
    stopWorker,
    workers: () => running?.workers,
    async stop() {
      await stopWorker();
      await api.stop();
      await temporal.connection.close();
      await db.destroy();
    },
  };
}

/**
 * A suite's platform fake and PingBack stack pointed at it: started before the suite's
 * tests, stopped after (stack first). `use` hands both to the suite's own variables.
 */
export function stackWithFake<F extends { stop(): Promise<void> }>(
  startFake: () => Promise<F>,
  config: (fake: F) => Partial<Record<keyof Config, string>>,
  use: (stack: Stack, fake: F) => void,
): void {
  let fake: F | undefined;
  let stack: Stack | undefined;
  beforeAll(async () => {
    fake = await startFake();
    stack = await startStack(config(fake));
    use(stack, fake);
  });
  afterAll(async () => {
    await stack?.stop();
    await fake?.stop();
  });
}

export interface HttpResult<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

export async function request<T = any>(
  url: string,
  method: string,
  path: string,
  opts: { token?: string; json?: unknown; body?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body = opts.body;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const res = await fetch(url + path, { method, headers, body });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

/** A fresh account through the operator API, as an operator would make one. */
/** A channel's own secret as PingBack opens it (stored sealed). */
export async function channelSecret(stack: Pick<Stack, 'db' | 'config'>, channelId: string, field: ChannelSecretField = 'webhook_secret'): Promise<string> {
  const row = await stack.db('channels').where({ id: channelId }).first('id', 'webhook_secret', 'verify_token');
  return openChannelSecret(secretBoxFrom(stack.config), row, field);
}

/** An agent's file for the next reply of a conversation, uploaded as the dashboard does; its id. */
export async function agentUpload(stack: Pick<Stack, 'url'>, apiKey: string, conversationId: string, bytes: Buffer, type: string, name: string): Promise<string> {
  const res = await fetch(`${stack.url}/api/conversations/${conversationId}/attachments?id=${randomUUID()}&name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': type },
    body: new Uint8Array(bytes),
  });
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

export async function createAccount(stack: Stack, plan: 'free' | 'mini' | 'pro' = 'mini'): Promise<{ accountId: string; apiKey: string }> {
  const res = await request(stack.url, 'POST', '/admin/accounts', { token: ADMIN_TOKEN, json: { name: `test ${randomUUID()}`, plan } });
  if (res.status !== 201) throw new Error(`account create failed: ${res.status} ${res.text}`);
  return { accountId: res.body.account_id, apiKey: res.body.api_key };
}

/** A Mini account with a Telegram channel on the fake, connected (its set-up workflow has called getMe and setWebhook). */
export async function connectTelegramChannel(stack: Stack): Promise<{ accountId: string; apiKey: string; token: string; channelId: string }> {
  const { accountId, apiKey } = await createAccount(stack, 'mini');
  const token = fakeBotToken();
  const ch = await request(stack.url, 'POST', '/api/channels', { token: apiKey, json: { type: 'telegram', config: { bot_token: token } } });
  if (ch.status !== 201) throw new Error(`channel create failed: ${ch.status} ${ch.text}`);
  const channelId: string = ch.body.id;
  await eventually(async () => (await request(stack.url, 'GET', `/api/channels/${channelId}`, { token: apiKey })).body.status === 'connected', 30_000, 'the Telegram channel connected');
  return { accountId, apiKey, token, channelId };
}

/** Polls until `check` returns a value (not undefined/false), or fails with what it last saw. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A token of the shape BotFather issues, unique per test. */
export function fakeBotToken(): string {
  const id = Math.floor(1e9 + Math.random() * 8e9);
  return `${id}:AA${randomUUID().replace(/-/g, '').slice(0, 33)}`;
}
