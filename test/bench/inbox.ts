/**
 * `npm run bench:inbox`: does the agents' inbox stay as fast in a large account as in a small
 * one, and does an event reach 200 open streams as fast as one? See docs/benchmark-inbox.md.
 *
 * PingBack's api and worker run as their own processes (as `pingback api` and `pingback
 * worker`, from the sources through tsx) against a fresh database and a Temporal dev server;
 * the Telegram sandbox is the platform. Account A has 100,000 conversations, B as many (a
 * neighbour sharing the tables and their indexes), C 1,000. Agents of A and C ask the same
 * questions through HTTP, taking turns, so both sides of each ratio meet the same moment of a
 * shared host.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import EventSource from 'eventsource';
import { createDb, Db } from '../../src/db/knex';
import { migrateLatest, recreateDatabase } from '../../src/db/migrate';
import { freePort, startDevServer } from '../../src/dev/dev-server';
import { ensureTemporalCli } from '../../src/dev/temporal-cli';
import { TelegramFake } from '../../src/sandbox/telegram';
import { seedInbox, SeededInbox } from './seed-inbox';
import { cpuSeconds, cpuSecondsOf, round, summary } from './stats';

const ROOT = path.resolve(__dirname, '../..');
const LARGE = Number(process.env.LARGE ?? 100_000);
const SMALL = Number(process.env.SMALL ?? 1_000);
/** Requests per question and account, after WARMUP unmeasured ones. */
const REQUESTS = Number(process.env.REQUESTS ?? 200);
const WARMUP = 20;
/** Customer messages per round of the event measurement; two rounds for each stream count, taking turns. */
const EVENTS_PER_ROUND = Number(process.env.EVENTS_PER_ROUND ?? 50);
const MANY_STREAMS = 200;
const OUT = process.env.OUT ?? 'test-results/bench-inbox.json';
const log = (line: string) => console.error(`[bench:inbox] ${line}`);

interface Agent {
  name: string;
  cookie: string;
  userId: string;
  inbox: SeededInbox;
}

/** What an agent asks, as a path; the first answer of the same path gives a cursor for the next page. */
const QUESTIONS: Array<{ name: string; kind: 'list' | 'search' | 'counts' | 'timeline'; path: (a: Agent) => string }> = [
  { name: 'list: default (open)', kind: 'list', path: () => '/api/conversations' },
  { name: 'list: status=pending', kind: 'list', path: () => '/api/conversations?status=pending' },
  { name: 'list: status=snoozed', kind: 'list', path: () => '/api/conversations?status=snoozed' },
  { name: 'list: status=resolved', kind: 'list', path: () => '/api/conversations?status=resolved' },
  { name: 'list: status=all', kind: 'list', path: () => '/api/conversations?status=all' },
  { name: 'list: assignee=me', kind: 'list', path: () => '/api/conversations?assignee=me' },
  { name: 'list: assignee=unassigned', kind: 'list', path: () => '/api/conversations?assignee=unassigned' },
  { name: 'list: assignee=<user>', kind: 'list', path: (a) => `/api/conversations?assignee=${a.inbox.assignees[1]}` },
  { name: 'list: channel_type=whatsapp', kind: 'list', path: () => '/api/conversations?channel_type=whatsapp' },
  { name: 'list: channel_id=<email>', kind: 'list', path: (a) => `/api/conversations?channel_id=${a.inbox.channels.email}` },
  { name: 'list: unread=true', kind: 'list', path: () => '/api/conversations?unread=true' },
  { name: 'list: assignee=me&channel_type=telegram', kind: 'list', path: () => '/api/conversations?assignee=me&channel_type=telegram' },
  { name: 'list: channel_id=<webchat>&assignee=me', kind: 'list', path: (a) => `/api/conversations?channel_id=${a.inbox.channels.webchat}&assignee=me` },
  { name: 'list: page 2 (cursor)', kind: 'list', path: () => '/api/conversations?cursor=' },
  { name: 'search: q=<name part>', kind: 'search', path: () => '/api/conversations?q=mateo' },
  { name: 'search: q=<word>', kind: 'search', path: () => '/api/conversations?q=refund' },
  { name: 'counts', kind: 'counts', path: () => '/api/conversations/counts' },
  { name: 'timeline (newest 50)', kind: 'timeline', path: (a) => `/api/conversations/${a.inbox.longestConversationId}/messages?order=desc` },
];

async function main() {
  const started = Date.now();
  const cli = await ensureTemporalCli(log);
  if (!cli) throw new Error('no Temporal CLI');
  const temporal = await startDevServer({ cli, port: await freePort(), logLevel: 'error' });
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/pingback_bench_inbox';
  await recreateDatabase(databaseUrl);
  await migrateLatest(databaseUrl);
  const db = createDb(databaseUrl, { max: 4 });
  const fake = await TelegramFake.start({ allowHttpWebhooks: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: 'bench-inbox',
    PINGBACK_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    PINGBACK_ADMIN_TOKEN: randomBytes(16).toString('hex'),
    TELEGRAM_API_BASE_URL: fake.baseUrl,
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_BASE_URL: base,
    LOG_LEVEL: 'warn',
  };
  const children: ChildProcess[] = [];
  const streams: EventSource[] = [];
  try {
    const worker = spawnPingback('worker', env);
    const api = spawnPingback('api', env);
    children.push(worker, api);
    await waitFor(async () => (await fetch(`${base}/healthz`)).ok, 'the api', 120_000);
    const pids = { api: api.pid!, worker: worker.pid! };

    const accounts = await Promise.all(['A', 'B', 'C'].map((name) => accountWithAdmin(base, env.PINGBACK_ADMIN_TOKEN, name)));
    const [a, b, c] = accounts;
    const seeded: Agent[] = [];
    for (const [acc, size] of [[a, LARGE], [b, LARGE], [c, SMALL]] as const) {
      log(`seeding account ${acc.name}: ${size} conversations, ~${10 * size} messages`);
      const inbox = await seedInbox(db, {
        accountId: acc.accountId,
        conversations: size,
        assignees: [acc.userId],
        readerUserId: acc.userId,
        progress: (line) => log(`  ${acc.name}: ${line}`),
      });
      seeded.push({ name: acc.name, cookie: acc.cookie, userId: acc.userId, inbox });
    }
    const [agentA, , agentC] = seeded;
    const seedSeconds = round((Date.now() - started) / 1000);
    log(`seeded in ${seedSeconds} s since start`);

    const bot = await telegramChannel(base, c.apiKey, fake);
    await settle(pids, 'seeding');

    const http = await measureRequests(base, agentC, agentA);
    await settle(pids, 'the requests');
    const events = await measureEvents(base, fake, bot, agentC, db, streams);

    const report = {
      date: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpu_model: os.cpus()[0]?.model,
        memory_gb: round(os.totalmem() / 2 ** 30),
        node: process.version,
        postgres: (await db.raw('SHOW server_version')).rows[0].server_version,
        postgres_settings: Object.fromEntries(
          (await db.raw("SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', 'effective_cache_size', 'random_page_cost', 'jit')")).rows.map(
            (r: { name: string; setting: string; unit: string | null }) => [r.name, r.unit ? `${r.setting} ${r.unit}` : r.setting],
          ),
        ),
      },
      settings: { large: LARGE, small: SMALL, requests: REQUESTS, warmup: WARMUP, events_per_round: EVENTS_PER_ROUND, many_streams: MANY_STREAMS },
      seeded: seeded.map((s) => ({ account: s.name, conversations: s.inbox.conversations, messages: s.inbox.messages })),
      seed_seconds: seedSeconds,
      requests: http,
      events,
      targets: {
        ...Object.fromEntries(http.filter((q) => q.target !== null).map((q) => [q.name, q.target])),
        'event latency p99, 200 streams ≤ 2× 1 stream': events.target,
      },
    };
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, JSON.stringify(report, null, 2));
    printReport(report);
    log(`JSON written to ${OUT}; ${round((Date.now() - started) / 1000)} s in all`);
  } finally {
    for (const es of streams) es.close();
    stopping = true;
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)))));
    await fake.stop();
    await db.destroy();
    await temporal.stop();
  }
}

/** Set once the benchmark stops its processes: an exit before then is a failure worth a line. */
let stopping = false;

function spawnPingback(command: 'api' | 'worker', env: Record<string, string>): ChildProcess {
  // From the sources, as the tests run them: `npm run bench:inbox` needs no build.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), command], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  child.on('exit', (code, signal) => !stopping && log(`${command} exited (${code ?? signal})`));
  return child;
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function call(base: string, method: string, p: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(base + p, {
    method,
    headers: { ...headers, origin: base, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return { res, body: text ? JSON.parse(text) : null };
}

/** An account as an operator makes one: its admin sets a password through the link and signs in. */
async function accountWithAdmin(base: string, adminToken: string, name: string) {
  const email = `admin-${name.toLowerCase()}-${randomBytes(4).toString('hex')}@bench.test`;
  const password = 'bench password 0123';
  const created = await call(base, 'POST', '/admin/accounts', { authorization: `Bearer ${adminToken}` }, { name: `bench ${name}`, plan: 'pro', admin_email: email, admin_name: `Admin ${name}` });
  const token = new URL(created.body.admin_set_password_url).searchParams.get('token');
  await call(base, 'POST', '/auth/set-password', {}, { token, password });
  const login = await call(base, 'POST', '/auth/login', {}, { email, password });
  const cookie = login.res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const me = await call(base, 'GET', '/api/me', { cookie });
  return { name, accountId: created.body.account_id as string, apiKey: created.body.api_key as string, cookie, userId: me.body.user.id as string };
}

async function telegramChannel(base: string, apiKey: string, fake: TelegramFake): Promise<string> {
  const bot = `8${Math.floor(Math.random() * 1e9)}:AA${randomBytes(24).toString('base64url').slice(0, 33)}`;
  const auth = { authorization: `Bearer ${apiKey}` };
  const ch = await call(base, 'POST', '/api/channels', auth, { type: 'telegram', config: { bot_token: bot } });
  await waitFor(async () => (await call(base, 'GET', `/api/channels/${ch.body.id}`, auth)).body.status === 'connected', 'the Telegram channel connected');
  if (!fake.webhookInfo(bot)) throw new Error('the Telegram channel set no webhook');
  return bot;
}

/**
 * Waits until PostgreSQL, the api and the worker together use less than 0.15 of a core over
 * each of two seconds: after a million rows, autovacuum and checkpoints would otherwise run
 * into the first measurements.
 */
async function settle(pids: { api: number; worker: number }, after: string, timeoutMs = 60_000) {
  const busy = () => cpuSecondsOf('postgres') + cpuSeconds(pids.api) + cpuSeconds(pids.worker);
  const startedAt = Date.now();
  let last = busy();
  let quiet = 0;
  while (quiet < 2 && Date.now() - startedAt < timeoutMs) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = busy();
    quiet = now - last < 0.15 ? quiet + 1 : 0;
    last = now;
  }
  log(`settled after ${after} in ${round((Date.now() - startedAt) / 1000)} s${quiet < 2 ? ' (timed out, still busy)' : ''}`);
}

async function timedGet(base: string, p: string, cookie: string): Promise<{ ms: number; body: any }> {
  const t0 = performance.now();
  const res = await fetch(base + p, { headers: { cookie } });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`GET ${p}: ${res.status} ${text}`);
  return { ms, body: JSON.parse(text) };
}

/** Each question asked in both accounts in turn (small, large, small, …), one request at a time. */
async function measureRequests(base: string, small: Agent, large: Agent) {
  const results = [];
  for (const q of QUESTIONS) {
    const paths = new Map<Agent, string>();
    for (const agent of [small, large]) {
      let p = q.path(agent);
      if (p.endsWith('cursor=')) p += (await timedGet(base, '/api/conversations', agent.cookie)).body.next_cursor;
      paths.set(agent, p);
    }
    const ms = new Map<Agent, number[]>([[small, []], [large, []]]);
    for (let i = 0; i < WARMUP + REQUESTS; i++) {
      for (const agent of [small, large]) {
        const { ms: took } = await timedGet(base, paths.get(agent)!, agent.cookie);
        if (i >= WARMUP) ms.get(agent)!.push(took);
      }
    }
    const [few, many] = [summary(ms.get(small)!), summary(ms.get(large)!)];
    const ratio = round(many.p99 / few.p99, 2);
    // Search has no target of its own in the issue; its ratio is reported all the same.
    const target = q.kind === 'search' ? null : ratio <= 2;
    // Every sample kept: on a shared host a p99 of 200 is the second-slowest request, and what lies under it tells noise from growth.
    const samples = { small: ms.get(small)!.map((v) => round(v, 2)), large: ms.get(large)!.map((v) => round(v, 2)) };
    results.push({ name: q.name, kind: q.kind, path: paths.get(large), small: few, large: many, p99_ratio: ratio, target, samples_ms: samples });
    log(`${q.name}: ${SMALL} p50/p99 ${few.p50}/${few.p99} ms, ${LARGE} ${many.p50}/${many.p99} ms, p99 ratio ${ratio}`);
  }
  return results;
}

/**
 * From a webhook accepted (the ingress answered the fake 200) to its message.created event at
 * each open stream. Messages go one at a time, each after the last reached every stream, to
 * ten conversations of their own (created first, unmeasured); rounds of 1 and of 200 streams
 * take turns.
 */
async function measureEvents(base: string, fake: TelegramFake, bot: string, agent: Agent, db: Db, streams: EventSource[]) {
  const chats = Array.from({ length: 10 }, (_, k) => 7_000_000 + k);
  const marker = `warm-${randomBytes(3).toString('hex')}`;
  for (const [i, chatId] of [...chats, ...chats].entries()) await fake.customerSends(bot, { chatId, firstName: 'Probe', text: `${marker} ${i}` });
  await waitFor(async () => Number((await db('messages').where('content', 'like', `${marker}%`).count('* as n'))[0].n) >= 2 * chats.length, 'the warm-up messages stored');

  // Each arrival is timed before anything else is done with it; a marker in the text finds the event.
  const pending = new Map<string, Probe>();
  const open = async (count: number) => {
    while (streams.length < count) {
      const es = new EventSource(`${base}/api/events`, { headers: { cookie: agent.cookie } });
      es.addEventListener('message.created', (m) => {
        const at = performance.now();
        const data = (m as MessageEvent).data as string;
        for (const [key, probe] of pending) if (data.includes(key)) probe.arrived(at);
      });
      await new Promise<void>((resolve, reject) => {
        es.onopen = () => resolve();
        es.onerror = (err) => reject(new Error(`event stream did not open: ${JSON.stringify(err)}`));
      });
      es.onerror = () => log('an event stream broke (EventSource reconnects by itself)');
      streams.push(es);
    }
    while (streams.length > count) streams.pop()!.close();
  };

  const latencies: Record<'one' | 'many', number[]> = { one: [], many: [] };
  const lastArrival: Record<'one' | 'many', number[]> = { one: [], many: [] };
  let n = 0;
  for (const turn of [1, 2]) {
    for (const [which, count] of [['one', 1], ['many', MANY_STREAMS]] as const) {
      await open(count);
      await new Promise((r) => setTimeout(r, 1000));
      log(`events: round ${turn}, ${count} stream(s)`);
      for (let i = 0; i < EVENTS_PER_ROUND; i++) {
        const key = `probe-${turn}-${which}-${i}-${randomBytes(3).toString('hex')}`;
        const probe = new Probe(count);
        pending.set(key, probe);
        const res = await fake.customerSends(bot, { chatId: chats[n++ % chats.length], firstName: 'Probe', text: `latency ${key}` });
        const accepted = performance.now();
        if (res.status !== 200) throw new Error(`webhook not accepted: ${res.status} ${res.body}`);
        await probe.all(30_000);
        pending.delete(key);
        latencies[which].push(...probe.arrivals.map((at) => at - accepted));
        lastArrival[which].push(Math.max(...probe.arrivals) - accepted);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
  await open(0);
  const one = summary(latencies.one);
  const many = summary(latencies.many);
  const ratio = round(many.p99 / one.p99, 2);
  return {
    one_stream: one,
    many_streams: many,
    last_stream_of_many: summary(lastArrival.many),
    p99_ratio: ratio,
    target: ratio <= 2,
  };
}

/** One message's arrivals at the open streams. */
class Probe {
  readonly arrivals: number[] = [];
  private done: () => void = () => undefined;
  private readonly complete = new Promise<void>((resolve) => (this.done = resolve));

  constructor(private readonly streams: number) {}

  arrived(at: number): void {
    this.arrivals.push(at);
    if (this.arrivals.length >= this.streams) this.done();
  }

  async all(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the event reached ${this.arrivals.length} of ${this.streams} streams in ${timeoutMs} ms`)), timeoutMs);
    });
    await Promise.race([this.complete, timeout]).finally(() => clearTimeout(timer));
  }
}

function printReport(r: any) {
  const rows: string[][] = [['measure', `${SMALL}: p50 / p99 ms`, `${LARGE}: p50 / p99 ms`, 'p99 ratio', 'target ≤ 2×']];
  for (const q of r.requests) {
    rows.push([q.name, `${q.small.p50} / ${q.small.p99}`, `${q.large.p50} / ${q.large.p99}`, String(q.p99_ratio), q.target === null ? '(no target)' : q.target ? 'met' : 'MISSED']);
  }
  const e = r.events;
  rows.push(['', '1 stream', `${MANY_STREAMS} streams`, '', '']);
  rows.push(['event latency (webhook accepted → message.created)', `${e.one_stream.p50} / ${e.one_stream.p99}`, `${e.many_streams.p50} / ${e.many_streams.p99}`, String(e.p99_ratio), e.target ? 'met' : 'MISSED']);
  rows.push([`  at the last of ${MANY_STREAMS} streams`, '', `${e.last_stream_of_many.p50} / ${e.last_stream_of_many.p99}`, '', '']);
  const width = rows[0].map((_, k) => Math.max(...rows.map((row) => row[k].length)));
  console.log(rows.map((row) => row.map((v, k) => v.padEnd(width[k])).join('  ')).join('\n'));
  const missed = Object.entries(r.targets).filter(([, met]) => !met).map(([name]) => name);
  console.log(`\n${Object.keys(r.targets).length - missed.length} of ${Object.keys(r.targets).length} targets met${missed.length ? `; missed: ${missed.join('; ')}` : ''}`);
  console.log(`machine: ${r.machine.cpus} CPUs (${r.machine.cpu_model}), ${r.machine.memory_gb} GiB, Node ${r.machine.node}, PostgreSQL ${r.machine.postgres}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
