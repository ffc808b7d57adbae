/**
 * `npm run bench`: PingBack's real stack on this machine (API and worker as their own processes,
 * the Telegram sandbox as the platform), measured against the ceiling of the Temporal server it
 * runs on at each conversation count, and written up as a page with charts
 * (`--report docs/benchmark.md`; test/bench/report.ts). See docs/benchmark.md.
 */
import { ChildProcess, spawn } from 'node:child_process';
import EventSource from 'eventsource';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { makePersistInbound } from '../../activities/messages';
import { createApp } from '../../src/api/app';
import { configSchema, secretBoxFrom } from '../../src/config';
import { createDb, Db } from '../../src/db/knex';
import { migrateLatest, recreateDatabase } from '../../src/db/migrate';
import { DevServer, freePort, startDevServer } from '../../src/dev/dev-server';
import { ensureTemporalCli } from '../../src/dev/temporal-cli';
import { serverPort, startTemporal } from '../../src/dev/temporal-server';
import { silentLogger } from '../../src/log';
import { TelegramFake } from '../../src/sandbox/telegram';
import { conversationWorkflowId } from '../../src/temporal/ids';
import { sandboxSettingsFromEnv, workflowSandbox } from '../../src/temporal/workflow-sandbox';
import { cpuSeconds, cpuSecondsOf, histogramQuantile, median, medianOf, openLoop, peakRssMb, peakRssMbOfTree, percentile, perSecond, round, steadyRate, stolenSeconds, summary } from './stats';
import { probeConversation, probeMessage } from './probe-workflow';
import { BENCH_DEFAULTS, BenchReport, CHART_FILE, CountResult, CpuPerMessage, endToEndTable, PROCESSES, Ratios, renderReport, roundsTable, sideBySideTable, targetsTable, verdictLine } from './report';
import { histogramBuckets } from '../helpers/prometheus';
import { quietLogger } from '../helpers/runtime';

const ROOT = path.resolve(__dirname, '../..');
const { values: opts } = parseArgs({
  options: {
    temporal: { type: 'string', default: BENCH_DEFAULTS.temporal }, // dev (SQLite file) | memory | server (PostgreSQL)
    rate: { type: 'string', default: String(BENCH_DEFAULTS.rate) },
    seconds: { type: 'string', default: String(BENCH_DEFAULTS.seconds) },
    // Unmeasured traffic first, for the probe and for PingBack alike: JIT, connection pools and caches
    // warm, as in a running deployment (each of a worker's SDK workers JIT-compiles in its own thread,
    // so 3 s left the first scenario measuring warm-up). Its conversations are not the measured ones.
    warmup: { type: 'string', default: String(BENCH_DEFAULTS.warmup) },
    conversations: { type: 'string', default: BENCH_DEFAULTS.conversations.join(',') },
    'reply-rate': { type: 'string', default: String(BENCH_DEFAULTS.replyRate) },
    // Each count is measured this many times, probe and PingBack taking turns (probe@100, PingBack@100,
    // probe@10,000, PingBack@10,000, probe@100, ...), so each round's ratios compare figures taken a
    // minute apart on the same host; the verdict is each ratio's median over the rounds. One run of
    // each, minutes apart, swung the ratios 2x either way.
    rounds: { type: 'string', default: String(BENCH_DEFAULTS.rounds) },
    // PingBack worker processes; conversations stick to the one that first ran them.
    workers: { type: 'string', default: String(BENCH_DEFAULTS.workers) },
    // SDK workers in each worker process (WORKER_INSTANCES), the probe's too; unset: PingBack's default.
    'worker-instances': { type: 'string' },
    // Runs the worker processes under `nice -n N`: on one host, the ingress and Temporal get the CPU
    // first and the worker takes what is left, as when workers run on hosts of their own. Everything
    // here shares one host, so by default the worker runs as docs/tuning.md ("Sharing a host") says to run it
    // there (and docker-compose.yml does: cpu_shares, and a 30 s sticky timeout, below); 0 to compare.
    'worker-nice': { type: 'string', default: String(BENCH_DEFAULTS.workerNice) },
    // One acknowledged webhook in N is followed until GET /api/conversations/:id/messages shows it; 0: none.
    'visible-sample': { type: 'string', default: String(BENCH_DEFAULTS.visibleSample) },
    // After the rounds, one block per count at this rate, well inside what the stack keeps up with:
    // the end-to-end figures of an inbox that is busy but not overloaded. 0: none.
    'calm-rate': { type: 'string', default: String(BENCH_DEFAULTS.calmRate) },
    out: { type: 'string', default: 'test-results/bench.json' },
    // Also write the Markdown page and its SVG charts (into a directory named after the page, beside it).
    report: { type: 'string' },
    // Render --report from a saved run's JSON instead of running anything.
    from: { type: 'string' },
  },
});
const RATE = Number(opts.rate);
const SECONDS = Number(opts.seconds);
const WARMUP_SECONDS = Number(opts.warmup);
const REPLY_RATE = Number(opts['reply-rate']);
const ROUNDS = Number(opts.rounds);
if (!(RATE > 0) || !(SECONDS > 0) || !(WARMUP_SECONDS >= 0) || !(REPLY_RATE >= 0)) throw new Error('--rate and --seconds: positive numbers; --warmup and --reply-rate: zero or more');
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('--rounds: a positive integer');
const CONVERSATION_COUNTS = opts.conversations!.split(',').map(Number);
// Messages are spread over a block's conversations by a stride coprime with their count.
if (CONVERSATION_COUNTS.some((n) => !(n > 0) || !Number.isInteger(n) || n % 7919 === 0)) throw new Error('--conversations: positive integers, none a multiple of 7919');
const WORKER_NICE = Number(opts['worker-nice']);
if (!Number.isInteger(WORKER_NICE) || WORKER_NICE < 0 || WORKER_NICE > 19) throw new Error('--worker-nice: an integer from 0 to 19');
const VISIBLE_SAMPLE = Number(opts['visible-sample']);
if (!Number.isInteger(VISIBLE_SAMPLE) || VISIBLE_SAMPLE < 0) throw new Error('--visible-sample: an integer, 0 or more');
const CALM_RATE = Number(opts['calm-rate']);
if (!(CALM_RATE >= 0)) throw new Error('--calm-rate: a number, 0 or more');
if (opts.from && !opts.report) throw new Error('--from: give --report, the page to write');
const PROBE_SENDERS = 64;
/** A progress line per phase this often. */
const PROGRESS_MS = 5_000;
/** How often the visibility watcher looks for its sampled messages' rows. */
const VISIBLE_TICK_MS = 50;
const log = (line: string) => console.error(`[bench] ${line}`);
const now = () => performance.timeOrigin + performance.now();
const fmtCount = (n: number) => n.toLocaleString('en-US');

const WORKER_ENV: Record<string, string> = {
  // A deprioritised worker lets its backlog grow longer: the sticky timeout docs/tuning.md ("Sharing a host") pairs with it.
  ...(WORKER_NICE > 0 ? { WORKER_STICKY_QUEUE_TIMEOUT_MS: '30000' } : {}),
  ...Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('WORKER_') && e[1] !== undefined)),
};
/** SDK workers per worker process, PingBack's and the probe's. */
const WORKER_INSTANCES = configSchema.shape.WORKER_INSTANCES.parse(opts['worker-instances'] ?? WORKER_ENV.WORKER_INSTANCES);

async function main() {
  const cli = await ensureTemporalCli(log);
  if (!cli) throw new Error('no Temporal CLI');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pingback-bench-'));
  const temporal = await startBenchTemporal(opts.temporal!, cli, tmp);
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/pingback_bench';
  await recreateDatabase(databaseUrl);
  await migrateLatest(databaseUrl);
  const db = createDb(databaseUrl, { max: 20 });
  const fake = await TelegramFake.start({ allowHttpWebhooks: true });
  const apiPort = await freePort();
  const apiMetricsAddress = `127.0.0.1:${await freePort()}`;
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: 'bench',
    PINGBACK_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    PINGBACK_ADMIN_TOKEN: randomBytes(16).toString('hex'),
    TELEGRAM_API_BASE_URL: fake.baseUrl,
    HOST: '127.0.0.1',
    PORT: String(apiPort),
    PUBLIC_BASE_URL: `http://127.0.0.1:${apiPort}`,
    LOG_LEVEL: 'warn',
    // The api's own metrics: how much of each acknowledgement was Temporal accepting the signal.
    API_METRICS_ADDRESS: apiMetricsAddress,
    // Worker settings from the environment reach PingBack's worker (WORKER_STICKY_QUEUE_TIMEOUT_MS=… npm run bench).
    ...WORKER_ENV,
    // And the conversations' own (CONVERSATION_QUIET_END_HOURS=0 npm run bench: runs that never end).
    ...Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('CONVERSATION_') && e[1] !== undefined)),
    ...(opts['worker-instances'] ? { WORKER_INSTANCES: opts['worker-instances'] } : {}),
  };
  const children: ChildProcess[] = [];
  const cleanup = async () => {
    for (const c of children) c.kill('SIGTERM');
    await fake.stop();
    await db.destroy();
    await temporal.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const workers = Array.from({ length: Number(opts.workers) }, () => spawnPingback('worker', env, WORKER_NICE));
    const api = spawnPingback('api', env);
    children.push(...workers, api);
    const base = env.PUBLIC_BASE_URL;
    await waitFor(async () => (await fetch(`${base}/healthz`)).ok, 'api');
    const { token, secret, channelId, accountId, apiKey } = await connectChannel(base, env.PINGBACK_ADMIN_TOKEN, fake);
    log(`stack up: Temporal ${opts.temporal} at ${temporal.address}, api pid ${api.pid}, worker pids ${workers.map((w) => w.pid).join(', ')}`);

    const pids = { api: api.pid!, workers: workers.map((w) => w.pid!), temporal: temporal.process.pid! };
    const probe = await startProbe(temporal.address, db, pids, temporal.metricsUrl);
    await warmUp(fake, token, db, channelId);
    const common = { base, db, fake, token, apiKey, channelId, pids, metricsUrl: temporal.metricsUrl, apiMetricsUrl: `http://${apiMetricsAddress}/metrics` };
    // Steady state, for both sides: every conversation exists (as in a running inbox) before messages spread over all of them.
    const live = CONVERSATION_COUNTS.map((count, k) => ({ ...common, conversations: count, chatBase: 1_000_000 * (k + 1), kind: 'live' as const }));
    for (const s of live) await probe.seed(s.conversations);
    for (const s of live) await seedConversations(fake, token, db, channelId, s.chatBase, s.conversations);
    let settled = await settle(pids, `seeding ${CONVERSATION_COUNTS.join(' and ')} conversations`);
    const rounds: Round[] = [];
    try {
      for (let r = 0; r < ROUNDS; r++) {
        const blocks: Block[] = [];
        for (const s of live) {
          const where = `round ${r + 1}/${ROUNDS} · ${fmtCount(s.conversations)} conversations`;
          const probeResult = Object.assign(await probe.measure(r, s.conversations, where), { settled });
          settled = await settle(pids, `the probe at ${s.conversations} conversations`);
          // The same object (not a copy): its raw samples are looked up by it.
          const pingback = Object.assign(await runScenario({ ...s, round: r, where }), { settled });
          settled = await settle(pids, `PingBack at ${s.conversations} conversations`);
          const ratios = blockRatios(probeResult, pingback);
          log(`${where}: committed/s PingBack ${pingback.inbound.committed_per_s} · probe ${probeResult.committed_per_s}; ratios commit ${ratios.commit_rate} · ingress p99 ${ratios.ingress_p99} · CPU/message ${ratios.cpu_per_message}`);
          blocks.push({ conversations: s.conversations, probe: probeResult, pingback, ratios });
        }
        rounds.push({ round: r + 1, blocks });
      }
    } finally {
      await probe.stop();
    }
    // Calm: the same conversations at a rate the stack keeps up with, for the end-to-end figures alone.
    const calm = new Map<number, ScenarioResult>();
    if (CALM_RATE > 0) {
      for (const s of live) {
        calm.set(s.conversations, await runScenario({ ...s, round: ROUNDS, rate: CALM_RATE, where: `calm · ${fmtCount(s.conversations)} conversations` }));
        settled = await settle(pids, `the calm block at ${s.conversations} conversations`);
      }
    }
    // The worst case, for context: every message is a new customer's first, so starts a workflow.
    const newCount = CONVERSATION_COUNTS[CONVERSATION_COUNTS.length - 1];
    const fresh = { ...(await runScenario({ ...common, conversations: newCount, chatBase: 1_000_000 * (CONVERSATION_COUNTS.length + 1), kind: 'new', round: 0, where: 'context' })), settled };
    const memory = {
      api_peak_rss_mb: peakRssMb(api.pid!),
      worker_peak_rss_mb: Math.max(...workers.map((w) => peakRssMb(w.pid!) ?? 0)),
      temporal_peak_rss_mb: peakRssMbOfTree(temporal.process.pid!),
    };
    await settle(pids, 'the last scenario');
    const direct = await runDirect(db, env, { channelId, accountId, secret });

    const counts = CONVERSATION_COUNTS.map((n, k) => countResult(rounds.map((r) => r.blocks[k]), calm.get(n)));
    const fewRate = median(rounds.map((r) => r.blocks[0].pingback.inbound.committed_per_s));
    const report: FullReport = {
      date: new Date().toISOString(),
      command: commandLine(),
      machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, memory_gb: round(os.totalmem() / 2 ** 30), node: process.version, os: `${os.type()} ${os.release()}` },
      settings: {
        temporal: opts.temporal!,
        offered_rate_per_s: RATE,
        seconds: SECONDS,
        warmup_seconds: WARMUP_SECONDS,
        rounds: ROUNDS,
        conversations: CONVERSATION_COUNTS,
        reply_rate_per_s: REPLY_RATE,
        workers: Number(opts.workers),
        worker_instances: WORKER_INSTANCES,
        worker_nice: WORKER_NICE,
        visible_sample_every: VISIBLE_SAMPLE,
        calm_rate_per_s: CALM_RATE,
        worker_env: WORKER_ENV,
      },
      verdict: {
        met: counts.reduce((sum, c) => sum + Object.values(c.targets).filter(Boolean).length, 0),
        of: counts.reduce((sum, c) => sum + Object.keys(c.targets).length, 0),
      },
      counts,
      rounds,
      context: {
        // No targets. PingBack against itself: the old "10,000 vs 100" target, before each count had its own ceiling.
        rate_many_vs_few_conversations: CONVERSATION_COUNTS.length > 1 ? round(median(rounds.map((r) => r.blocks[r.blocks.length - 1].pingback.inbound.committed_per_s / r.blocks[0].pingback.inbound.committed_per_s)), 2) : null,
        // What a flood of new customers costs (one workflow start per message), against the rounds' median.
        rate_all_new_vs_few_conversations: round(fresh.inbound.committed_per_s / fewRate, 2),
        all_new: fresh,
        direct_to_postgres: direct,
        memory,
      },
    };
    fs.mkdirSync(path.dirname(opts.out!), { recursive: true });
    fs.writeFileSync(opts.out!, JSON.stringify(report, null, 2));
    printTable(report);
    log(`JSON written to ${opts.out}`);
    if (opts.report) writeReport(report, opts.report);
  } finally {
    await cleanup();
  }
}

/** How the run was started, for the page. */
function commandLine(): string {
  const args = process.argv.slice(2).map((a) => (/^[\w./,=:@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`));
  const env = Object.keys(WORKER_ENV)
    .filter((k) => process.env[k] !== undefined)
    .map((k) => `${k}=${process.env[k]}`);
  return [...env, 'npm run bench', ...(args.length ? ['--', ...args] : [])].join(' ');
}

/** The page and its charts, in a directory named after the page beside it (docs/benchmark.md: docs/benchmark/). */
function writeReport(report: BenchReport, page: string) {
  const dir = path.join(path.dirname(page), path.basename(page, path.extname(page)));
  const docs = path.relative(path.dirname(path.resolve(page)), path.join(ROOT, 'docs'));
  const { markdown, charts } = renderReport(report, { chartsHref: path.basename(dir), docsHref: docs ? `${docs}/` : '' });
  fs.mkdirSync(dir, { recursive: true });
  // The previous run's charts go (another run's counts name other files); nothing else in the directory is touched.
  for (const f of fs.readdirSync(dir)) if (CHART_FILE.test(f)) fs.rmSync(path.join(dir, f));
  for (const c of charts) fs.writeFileSync(path.join(dir, c.file), c.svg);
  fs.writeFileSync(page, markdown);
  log(`report written to ${page}, ${charts.length} charts to ${dir}/`);
}

/** `--from run.json --report page.md`: the page from a saved run, nothing started. */
function renderSaved(from: string, page: string) {
  const report = JSON.parse(fs.readFileSync(from, 'utf8')) as BenchReport;
  if (!Array.isArray(report.counts)) throw new Error(`${from}: not a report of this benchmark's format (no "counts": written before 2026-12-06?)`);
  writeReport(report, page);
  log(verdictLine(report).replace(/\*\*/g, ''));
}

async function startBenchTemporal(kind: string, cli: string, tmp: string): Promise<DevServer> {
  if (kind === 'server') return startTemporal({ kind: 'server', cli, port: await serverPort(), database: 'pingback_bench_temporal' });
  const dbFile = kind === 'memory' ? undefined : path.join(tmp, 'temporal.sqlite');
  return startDevServer({ cli, port: await freePort(), dbFile, logLevel: 'error', metricsPort: await freePort() });
}

function spawnPingback(command: 'api' | 'worker', env: Record<string, string>, nice = 0): ChildProcess {
  // BENCH_NODE_ARGS reach PingBack's processes only, e.g. `--cpu-prof --cpu-prof-dir=prof` to profile them.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const argv = [process.execPath, ...nodeArgs, path.join(ROOT, 'dist/src/cli.js'), command];
  // `nice` execs node in its place, so the pid (and its CPU accounting) is the worker's own.
  if (nice !== 0) argv.unshift('nice', '-n', String(nice));
  const child = spawn(argv[0], argv.slice(1), {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  child.on('exit', (code, signal) => signal !== 'SIGTERM' && log(`${command} exited (${code ?? signal})`));
  return child;
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 60_000, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function api(base: string, method: string, p: string, token: string, body?: unknown) {
  const res = await fetch(base + p, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
}

async function connectChannel(base: string, adminToken: string, fake: TelegramFake) {
  const account = await api(base, 'POST', '/admin/accounts', adminToken, { name: 'bench', plan: 'pro' });
  const apiKey = account.body.api_key as string;
  const token = `7${Math.floor(Math.random() * 1e9)}:AA${randomBytes(24).toString('base64url').slice(0, 33)}`;
  const ch = await api(base, 'POST', '/api/channels', apiKey, { type: 'telegram', config: { bot_token: token } });
  await waitFor(async () => (await api(base, 'GET', `/api/channels/${ch.body.id}`, apiKey)).body.status === 'connected', 'channel connected');
  return { token, secret: fake.webhookInfo(token)!.secret_token!, channelId: ch.body.id as string, accountId: account.body.account_id as string, apiKey };
}


/**
 * A progress line for a phase every PROGRESS_MS on stderr, and one at its end: the phase, its
 * elapsed time against the offer's length, and messages offered, acknowledged and committed so far.
 */
function progress(phase: string, offerSeconds: number, counted: { offered(): number; acknowledged(): number }, committed: () => Promise<number>) {
  const started = now();
  const line = async (end = false) => {
    const c = await committed().catch(() => NaN);
    const elapsed = (now() - started) / 1000;
    log(`${phase} · ${end ? 'done in ' : ''}${round(elapsed)} s (offer ${round(offerSeconds)} s) · offered ${counted.offered()} · acknowledged ${counted.acknowledged()} · committed ${Number.isNaN(c) ? '?' : c}`);
  };
  const timer = setInterval(() => void line(), PROGRESS_MS);
  return {
    async done() {
      clearInterval(timer);
      await line(true);
    },
  };
}

/** Inbound messages of a channel's conversations [chatBase, chatBase + count] whose text starts with a prefix. */
const inboundRows = (db: Db, channelId: string, chatBase: number, count: number, contentPrefix: string) =>
  db('messages as m')
    .join('conversations as c', 'c.id', 'm.conversation_id')
    .where({ 'c.channel_id': channelId, 'm.direction': 'inbound' })
    .whereBetween('c.thread_key', [String(chatBase), String(chatBase + count)])
    .where('m.content', 'like', `${contentPrefix}%`);

const countOf = async (q: { count(column: string): PromiseLike<unknown> }) => Number(((await q.count('* as n')) as Array<{ n: string | number }>)[0].n);

/** One unmeasured message to each of `count` conversations, until every one is committed. */
async function seedConversations(fake: TelegramFake, token: string, db: Db, channelId: string, chatBase: number, count: number) {
  let offered = 0;
  let acknowledged = 0;
  const ticker = progress(`seeding PingBack's ${fmtCount(count)} conversations (not measured)`, count / RATE, { offered: () => offered, acknowledged: () => acknowledged }, () =>
    countOf(inboundRows(db, channelId, chatBase, count, 'seed')),
  );
  let pending = Array.from({ length: count }, (_, i) => chatBase + i);
  for (let round = 0; pending.length > 0 && round < 5; round++) {
    const refused: number[] = [];
    const batch = pending;
    await openLoop(RATE, batch.length / RATE, async (i) => {
      offered++;
      const r = await fake.customerSends(token, { chatId: batch[i], firstName: 'Bench', text: 'seed' }).catch(() => undefined);
      if (r?.status !== 200) refused.push(batch[i]);
      else acknowledged++;
    });
    pending = refused;
  }
  if (pending.length > 0) throw new Error(`${pending.length} conversations could not be seeded`);
  await waitForRows(db, channelId, count, chatBase, count, 'seed');
  await ticker.done();
}

/** Unmeasured webhooks to conversations of their own, until all are committed. */
async function warmUp(fake: TelegramFake, token: string, db: Db, channelId: string) {
  if (WARMUP_SECONDS <= 0) return;
  const chatBase = 900_000_000;
  let offered = 0;
  let acknowledged = 0;
  const ticker = progress("PingBack's warm-up (not measured)", WARMUP_SECONDS, { offered: () => offered, acknowledged: () => acknowledged }, () =>
    countOf(inboundRows(db, channelId, chatBase, 100, 'warm-up')),
  );
  await openLoop(RATE, WARMUP_SECONDS, async (i) => {
    offered++;
    const r = await fake.customerSends(token, { chatId: chatBase + (i % 100), firstName: 'Warm', text: `warm-up ${i}` });
    if (r.status === 200) acknowledged++;
  });
  await waitForRows(db, channelId, acknowledged, chatBase, 100, 'warm-up');
  await ticker.done();
}

interface ScenarioInput {
  base: string;
  db: Db;
  fake: TelegramFake;
  token: string;
  apiKey: string;
  channelId: string;
  conversations: number;
  chatBase: number;
  pids: { api: number; workers: number[]; temporal: number };
  /** The Temporal server's Prometheus endpoint (dev server only). */
  metricsUrl?: string;
  /** PingBack's api's Prometheus endpoint (API_METRICS_ADDRESS). */
  apiMetricsUrl: string;
  /** live: the conversations exist and messages spread over all of them; new: every message starts one. */
  kind: 'live' | 'new';
  /** 0-based: each round's messages go on where the last round's stopped, and are told apart by their text. */
  round: number;
  /** Webhooks offered per second; RATE unless said (the calm block). */
  rate?: number;
  /** For progress lines: the round and count. */
  where: string;
}

/** Spreads message i over all `count` conversations (7919 is prime, so coprime with any count of 10s). */
const STRIDE = 7919;

/**
 * Waits until the stack is idle: the api, workers, Temporal, PostgreSQL (all of the machine's, so
 * nothing else should run on it meanwhile) and the benchmark itself together using less than
 * SETTLED_CORES over each of two seconds. Rows committed is not enough: after 10,000 conversations were
 * seeded the worker and Temporal went on working for up to half a minute, and a measured phase
 * started then paid for the seeding's tail. Returns how long it waited and what that cost.
 */
async function settle(pids: ScenarioInput['pids'], what: string, timeoutMs = 120_000) {
  const read = cpuReader(pids);
  const first = read();
  const started = now();
  let last = first;
  let idleSeconds = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const current = read();
    // The benchmark's own process too: the probe's worker runs in it.
    const busy = (Object.keys(current) as Array<keyof CpuSeconds>).filter((k) => k !== 'host_steal').reduce((sum, k) => sum + current[k] - last[k], 0);
    last = current;
    // Two quiet seconds in a row, so a lull in a long tail does not count as the end of it.
    idleSeconds = busy < SETTLED_CORES ? idleSeconds + 1 : 0;
    const idle = idleSeconds >= 2;
    if (idle || now() - started > timeoutMs) {
      const result = { seconds: round((now() - started) / 1000, 1), idle, cpu_seconds: cpuSince(first, current) };
      log(`settled after ${what} in ${result.seconds} s${idle ? '' : ' (timed out, still busy)'}: CPU-s ${JSON.stringify(result.cpu_seconds)}`);
      return result;
    }
  }
}

/** The stack counts as idle below this many cores' worth of CPU (long polls and timers cost a little). */
const SETTLED_CORES = 0.15;

/** CPU seconds each part of the stack has used so far. */
function cpuReader(pids: ScenarioInput['pids']) {
  return () => {
    const self = process.cpuUsage();
    return {
      api: cpuSeconds(pids.api),
      worker: pids.workers.reduce((sum, pid) => sum + cpuSeconds(pid), 0),
      temporal: cpuSeconds(pids.temporal),
      // All of this machine's PostgreSQL: PingBack's, the benchmark's own polling, and the full server's persistence.
      postgres: cpuSecondsOf('postgres'),
      bench_and_platform_fake: (self.user + self.system) / 1e6,
      // Time the hypervisor ran other guests while this VM's CPUs wanted to run: a shared host's noise.
      host_steal: stolenSeconds(),
    };
  };
}


type CpuSeconds = ReturnType<ReturnType<typeof cpuReader>>;
const cpuDelta = (before: CpuSeconds, after: CpuSeconds) =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof CpuSeconds]])) as CpuSeconds;
const roundCpu = (c: CpuSeconds) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, round(v, 1)])) as CpuSeconds;
const cpuSince = (before: CpuSeconds, after: CpuSeconds) => roundCpu(cpuDelta(before, after));

/** Where the two cores went: CPU seconds per process over a block, unrounded. */
function cpuMeter(pids: ScenarioInput['pids']) {
  const read = cpuReader(pids);
  const before = read();
  return () => cpuDelta(before, read());
}

/** CPU milliseconds per committed message, by process, and their total. */
function perMessage(cpu: Record<(typeof PROCESSES)[number], number>, committed: number): CpuPerMessage {
  const each = Object.fromEntries(PROCESSES.map((p) => [p, committed > 0 ? round((cpu[p] * 1000) / committed, 3) : NaN])) as Record<(typeof PROCESSES)[number], number>;
  return { ...each, total: round(PROCESSES.reduce((sum, p) => sum + each[p], 0), 3) };
}

/**
 * Webhook accepted → visible in the API, for a sample of messages: every VISIBLE_TICK_MS one
 * indexed query for the sampled rows not yet seen, then, for each found, GET
 * /api/conversations/:id/messages as an integration would; visible when that answer lists it.
 * Polling the API itself would cost a GET per message per look: with 10,000 conversations behind
 * by seconds, hundreds a second on the two cores being measured.
 */
function visibilityWatcher(s: ScenarioInput) {
  const pending = new Map<string, { conversationId: string; platformMessageId: string; ackedAt: number }>();
  const visibleMs: number[] = [];
  let reads = 0;
  let readsTooEarly = 0;
  let stopping = false;
  const look = async () => {
    const pairs = [...pending.values()].map((p) => [p.conversationId, p.platformMessageId]);
    const rows: Array<{ conversation_id: string; platform_message_id: string }> = await s.db('messages')
      .where({ direction: 'inbound' })
      .whereIn(['conversation_id', 'platform_message_id'], pairs)
      .select('conversation_id', 'platform_message_id');
    // Read through the API, four at a time.
    const queue = [...rows];
    await Promise.all(
      Array.from({ length: Math.min(4, queue.length) }, async () => {
        for (let row = queue.shift(); row; row = queue.shift()) {
          const key = `${row.conversation_id}/${row.platform_message_id}`;
          const p = pending.get(key);
          if (!p) continue;
          const res = await fetch(`${s.base}/api/conversations/${p.conversationId}/messages?order=desc&limit=50`, { headers: { authorization: `Bearer ${s.apiKey}` } });
          const body = (await res.json().catch(() => null)) as { data?: Array<{ direction?: string; platform_message_id?: string }> } | null;
          const at = now();
          reads++;
          if (body?.data?.some((m) => m.direction === 'inbound' && m.platform_message_id === p.platformMessageId)) {
            visibleMs.push(at - p.ackedAt);
            pending.delete(key);
          } else readsTooEarly++;
        }
      }),
    );
  };
  let deadline = Infinity;
  const loop = (async () => {
    while (!(stopping && (pending.size === 0 || now() > deadline))) {
      await new Promise((r) => setTimeout(r, VISIBLE_TICK_MS));
      if (pending.size > 0) await look().catch((err) => log(`visibility: ${err}`));
    }
  })();
  return {
    add(conversationId: string, platformMessageId: string, ackedAt: number) {
      pending.set(`${conversationId}/${platformMessageId}`, { conversationId, platformMessageId, ackedAt });
    },
    /** After every row committed: the last ones are read, then the figures. */
    async finish(timeoutMs = 30_000) {
      stopping = true;
      deadline = now() + timeoutMs;
      await loop;
      return { samples: visibleMs.map((v) => round(v)), api_reads: reads, api_reads_too_early: readsTooEarly, never_seen: pending.size };
    },
  };
}

/** Raw samples of a block, kept out of the per-round JSON and pooled per count. */
const blockSamples = new WeakMap<object, { committed: number[]; visible: number[]; stream: number[]; reply: number[] }>();

/**
 * Webhook accepted → `message.created` on an open event stream (GET /api/events, the dashboard's
 * live view) with the account's API key, for every message of a live block: the figure an agent
 * with the inbox open feels. One stream, as one open dashboard; its reads are part of PingBack's load.
 */
async function streamWatcher(s: ScenarioInput) {
  const ackedAt = new Map<string, number>();
  /** Events that arrived before the webhook's answer reached the benchmark: 0 ms. */
  const early = new Set<string>();
  const samples: number[] = [];
  const es = new EventSource(`${s.base}/api/events`, { headers: { authorization: `Bearer ${s.apiKey}` } });
  es.addEventListener('message.created', (m) => {
    const at = now();
    const e = JSON.parse((m as MessageEvent).data) as { data: { kind: string; conversation_id: string; platform_message_id?: string | null } };
    if (e.data.kind !== 'customer_message') return;
    const key = `${e.data.conversation_id}/${e.data.platform_message_id}`;
    const t = ackedAt.get(key);
    if (t === undefined) return void early.add(key);
    samples.push(at - t);
    ackedAt.delete(key);
  });
  await new Promise<void>((resolve, reject) => {
    es.onopen = () => resolve();
    es.onerror = (err) => reject(new Error(`event stream: ${JSON.stringify(err)}`));
  });
  es.onerror = () => log('event stream: the connection broke; EventSource reconnects with Last-Event-ID');
  return {
    add(conversationId: string, platformMessageId: string, acked: number) {
      const key = `${conversationId}/${platformMessageId}`;
      if (early.delete(key)) samples.push(0);
      else ackedAt.set(key, acked);
    },
    async finish(timeoutMs = 30_000) {
      const deadline = now() + timeoutMs;
      while (ackedAt.size > 0 && now() < deadline) await new Promise((r) => setTimeout(r, 50));
      es.close();
      return { samples: samples.map((v) => round(v)), never_seen: ackedAt.size };
    },
  };
}

async function runScenario(s: ScenarioInput) {
  const rate = s.rate ?? RATE;
  log(`${s.where} · PingBack: ${rate}/s for ${SECONDS}s across ${fmtCount(s.conversations)} ${s.kind} conversations, replies ${REPLY_RATE}/s`);
  const sentAt = new Map<string, number>();
  const ackMs: number[] = [];
  const ackBySecond: number[][] = [];
  let refused = 0;
  let offered = 0;
  const replies: string[] = [];
  /** Reply text → when the API's 202 arrived (Date.now(), the Telegram fake's clock). */
  const replyAcceptedAt = new Map<string, number>();
  let replyRefused = 0;
  // Conversations exist already in a live block: the sampled messages are read through the API.
  const conversationIds = new Map<number, string>();
  if (s.kind === 'live' && VISIBLE_SAMPLE > 0) {
    const convs: Array<{ id: string; thread_key: string }> = await s.db('conversations')
      .where({ channel_id: s.channelId })
      .whereBetween('thread_key', [String(s.chatBase), String(s.chatBase + s.conversations)])
      .select('id', 'thread_key');
    for (const c of convs) conversationIds.set(Number(c.thread_key), c.id);
  }
  const watcher = conversationIds.size > 0 ? visibilityWatcher(s) : undefined;
  const stream = conversationIds.size > 0 ? await streamWatcher(s) : undefined;
  const cpu = cpuMeter(s.pids);
  const countersBefore = await serverCounters(s.metricsUrl);
  const apiBefore = await apiTimings(s.apiMetricsUrl);
  const text = `round ${s.round + 1} message `;
  const ticker = progress(`${s.where} · PingBack`, SECONDS, { offered: () => offered, acknowledged: () => ackMs.length }, () =>
    countOf(inboundRows(s.db, s.channelId, s.chatBase, s.conversations, text)),
  );
  const started = now();
  const offset = s.round * Math.round(RATE * SECONDS);
  const inbound = openLoop(rate, SECONDS, async (i) => {
    offered++;
    const n = offset + i;
    const chatId = s.chatBase + (s.kind === 'live' ? (n * STRIDE) % s.conversations : n % s.conversations);
    const t0 = now();
    const r = await s.fake.customerSends(s.token, { chatId, firstName: 'Bench', text: `${text}${i}` }).catch(() => undefined);
    // Not acknowledged (5xx or no answer in time): the platform would deliver it again later.
    if (r?.status !== 200) return void refused++;
    const acked = now();
    const ack = acked - t0;
    ackMs.push(ack);
    (ackBySecond[Math.floor((t0 - started) / 1000)] ??= []).push(ack);
    const messageId = String((r.update as any).message.message_id);
    sentAt.set(`${chatId}/${messageId}`, t0);
    const conversationId = conversationIds.get(chatId);
    if (watcher && conversationId && i % VISIBLE_SAMPLE === 0) watcher.add(conversationId, messageId, acked);
    if (stream && conversationId) stream.add(conversationId, messageId, acked);
  });
  // Agents answer conversations that exist by then; a share of sends hit 429 or 5xx at the platform.
  s.fake.setFailureRate('sendMessage', { kind: 'rate_limit', retryAfter: 1 }, 0.1);
  s.fake.setFailureRate('sendMessage', { kind: 'server_error' }, 0.1);
  const outbound = (async () => {
    await new Promise((r) => setTimeout(r, 2000));
    const convs: Array<{ id: string }> = await s.db('conversations')
      .where({ channel_id: s.channelId })
      .whereBetween('thread_key', [String(s.chatBase), String(s.chatBase + s.conversations)])
      .select('id');
    if (convs.length === 0 || REPLY_RATE <= 0) return;
    await openLoop(REPLY_RATE, Math.max(0, SECONDS - 2), async (i) => {
      // Unique in the run, so the platform's copy is found by its text.
      const content = `reply ${s.kind} ${s.conversations} round ${s.round + 1} #${i}`;
      const r = await api(s.base, 'POST', `/api/conversations/${convs[i % convs.length].id}/messages`, s.apiKey, { content });
      if (r.status === 202) {
        replyAcceptedAt.set(content, Date.now());
        replies.push(r.body.id);
      } else replyRefused++;
    });
  })();
  const load = await inbound;
  await outbound;

  const rows = await waitForRows(s.db, s.channelId, sentAt.size, s.chatBase, s.conversations, text);
  const cpuUsed = cpu();
  await ticker.done();
  const countersAfter = await serverCounters(s.metricsUrl);
  const apiAfter = await apiTimings(s.apiMetricsUrl);
  const visible = await watcher?.finish();
  const streamed = await stream?.finish();
  const e2e: number[] = [];
  for (const r of rows) {
    const t0 = sentAt.get(`${r.thread_key}/${r.platform_message_id}`);
    if (t0 !== undefined) e2e.push(new Date(r.created_at).getTime() - t0);
  }
  await waitFor(async () => (await s.db('messages').whereIn('id', replies).where({ status: 'pending' }).count('* as n'))[0].n == 0, 'replies done', 180_000);
  const out = await s.db('messages').whereIn('id', replies).select('status', 'created_at', 'sent_at');
  const sent = out.filter((m) => m.status === 'sent');
  // Reply accepted → platform accepted: the fake's first copy of each reply (a send retried after a
  // lost answer may reach it twice) against the 202.
  const reachedAt = new Map<string, number>();
  for (const m of s.fake.sentMessages(s.token)) if (replyAcceptedAt.has(m.text) && !reachedAt.has(m.text)) reachedAt.set(m.text, m.at);
  const replyMs = [...reachedAt].map(([content, at]) => at - replyAcceptedAt.get(content)!);
  const replyWindow = (Math.max(...sent.map((m) => new Date(m.sent_at).getTime())) - Math.min(...out.map((m) => new Date(m.created_at).getTime()))) / 1000;
  const commitTimes = rows.map((r) => new Date(r.created_at).getTime());
  const inboundCpu = { api: cpuUsed.api, worker: cpuUsed.worker, temporal: cpuUsed.temporal, postgres: cpuUsed.postgres };
  const result = {
    conversations: s.conversations,
    kind: s.kind,
    inbound: {
      offered: load.offered,
      acknowledged: ackMs.length,
      refused,
      webhooks_per_s: round(ackMs.length / (load.elapsedMs / 1000)),
      ack_ms: summary(ackMs),
      // Where in the run the slow acknowledgements fell: p99 of each second's webhooks.
      ack_p99_ms_by_second: Array.from(ackBySecond, (v) => (v ? round(percentile(v, 99)) : null)),
      // Inside the api, from its metrics (as fine as their buckets): the whole answer, and Temporal accepting the signal.
      api_side_p99_ms: {
        webhook: msOrNull(histogramQuantile(0.99, apiBefore.webhook, apiAfter.webhook)),
        temporal_signal: msOrNull(histogramQuantile(0.99, apiBefore.signal, apiAfter.signal)),
      },
      committed: rows.length,
      ...commitRates(commitTimes, started, load.offered, rate),
      committed_by_second: perSecond(commitTimes, started),
      end_to_end_ms: summary(e2e),
    },
    // Webhook accepted → visible through the API, sampled (see visibilityWatcher).
    visible: visible
      ? { sample_every: VISIBLE_SAMPLE, ms: summary(visible.samples), api_reads: visible.api_reads, api_reads_too_early: visible.api_reads_too_early, never_seen: visible.never_seen }
      : null,
    // Webhook accepted → its message.created on an open event stream, every message (see streamWatcher).
    stream: streamed ? { ms: summary(streamed.samples), never_seen: streamed.never_seen } : null,
    cpu_seconds: roundCpu(cpuUsed),
    cpu_ms_per_message: perMessage(inboundCpu, rows.length),
    // The server's work from the scenario's start until its last message committed, the replies'
    // share so far included: the table shows it per committed message.
    server_work: serverWork(countersBefore, countersAfter),
    replies: {
      accepted: replies.length,
      refused: replyRefused,
      sent: sent.length,
      failed: out.length - sent.length,
      sent_per_s: round(sent.length / replyWindow),
      // API accepted (202) → platform accepted, by the platform fake's clock.
      end_to_end_ms: summary(replyMs),
    },
  };
  blockSamples.set(result, { committed: e2e, visible: visible?.samples ?? [], stream: streamed?.samples ?? [], reply: replyMs });
  return result;
}

async function apiTimings(url: string) {
  const text = await (await fetch(url)).text();
  return {
    webhook: histogramBuckets(text, 'pingback_webhook_duration_seconds', { channel_type: 'telegram' }),
    signal: histogramBuckets(text, 'pingback_temporal_signal_duration_seconds', { kind: 'inbound', outcome: 'ok' }),
  };
}

const msOrNull = (seconds: number | null) => (seconds === null ? null : round(seconds * 1000));

/**
 * Counters read from the dev server's Prometheus endpoint: workflow tasks that timed out before a
 * worker started them (only sticky ones have such a timeout), and lookups of the history service's
 * mutable-state cache with their misses (each miss loads the workflow's state from the database).
 */
async function serverCounters(metricsUrl: string | undefined): Promise<ServerCounters | undefined> {
  if (!metricsUrl) return undefined;
  const text = await (await fetch(metricsUrl)).text();
  const c: ServerCounters = {
    stickyTimeouts: 0, workflowTaskTimeouts: 0, cacheRequests: 0, cacheMisses: 0, workflowTasksCompleted: 0, workflowTaskPolls: 0, workflowTaskPollsSyncMatched: 0, persistenceRequests: 0,
    // The server's own time for a signal-with-start, from its frontend receiving it to answering.
    signalWithStart: histogramBuckets(text, 'service_latency', { service_name: 'frontend', operation: 'SignalWithStartWorkflowExecution', namespace: 'default' }),
  };
  for (const line of text.split('\n')) {
    const value = () => Number(line.slice(line.lastIndexOf(' ') + 1));
    const cacheLookup = line.includes('operation="HistoryCacheGetOrCreate"');
    const workflowTaskQueue = line.includes('task_type="Workflow"') && line.includes('namespace="default"');
    const workflowTaskTimer = line.includes('namespace="default"') && /operation="[^"]*WorkflowTask/.test(line);
    if (line.startsWith('schedule_to_start_timeout{') && workflowTaskTimer) c.stickyTimeouts += value();
    else if (line.startsWith('start_to_close_timeout{') && workflowTaskTimer) c.workflowTaskTimeouts += value();
    else if (line.startsWith('cache_requests{') && cacheLookup) c.cacheRequests += value();
    else if (line.startsWith('cache_miss{') && cacheLookup) c.cacheMisses += value();
    else if (line.startsWith('service_requests{') && line.includes('service_name="frontend"') && line.includes('operation="RespondWorkflowTaskCompleted"')) c.workflowTasksCompleted += value();
    else if (line.startsWith('poll_success{') && workflowTaskQueue) c.workflowTaskPolls += value();
    else if (line.startsWith('poll_success_sync{') && workflowTaskQueue) c.workflowTaskPollsSyncMatched += value();
    // Under every namespace label: counting only "default" gave half as many in a short run (6.6
    // against 13.1 per message), the rest being queue and shard work the messages caused too. The
    // server's own housekeeping adds a little.
    else if (line.startsWith('persistence_requests{')) c.persistenceRequests += value();
  }
  return c;
}

function serverWork(before: ServerCounters | undefined, after: ServerCounters | undefined) {
  const counted = (k: Exclude<keyof ServerCounters, 'signalWithStart'>) => (before && after ? after[k] - before[k] : null);
  return {
    // Against the client's view of the same calls (the probe's signal p99, the api's signal p99), the
    // rest is the client's side: its process's event loop and CPU, gRPC, the loopback.
    signal_with_start_p99_ms: before && after ? msOrNull(histogramQuantile(0.99, before.signalWithStart, after.signalWithStart)) : null,
    workflow_tasks_completed: counted('workflowTasksCompleted'),
    // Waited longer than WORKER_STICKY_QUEUE_TIMEOUT_MS for the worker caching their conversation:
    // each went to the shared queue and cost a replay of the whole history.
    workflow_tasks_past_sticky_timeout: counted('stickyTimeouts'),
    workflow_tasks_timed_out: counted('workflowTaskTimeouts'),
    workflow_tasks_polled: counted('workflowTaskPolls'),
    workflow_tasks_sync_matched: counted('workflowTaskPollsSyncMatched'),
    persistence_requests: counted('persistenceRequests'),
    // The server's mutable-state cache: a miss reads the conversation's workflow state from the database.
    history_cache: { lookups: counted('cacheRequests'), misses: counted('cacheMisses') },
  };
}

interface ServerCounters {
  stickyTimeouts: number;
  /** Workflow tasks a worker started but did not complete within the task timeout (10 s): each is retried with a replay. */
  workflowTaskTimeouts: number;
  cacheRequests: number;
  cacheMisses: number;
  /** RespondWorkflowTaskCompleted calls, the rejected ones included. */
  workflowTasksCompleted: number;
  /** Workflow tasks handed to a poller: sync-matched ones went straight from the history service, the rest were written to the task queue first. */
  workflowTaskPolls: number;
  workflowTaskPollsSyncMatched: number;
  persistenceRequests: number;
  signalWithStart: Map<number, number>;
}

async function waitForRows(db: Db, channelId: string, expected: number, chatBase: number, count: number, contentPrefix: string) {
  // Counted, twice a second, until all are in; the rows are read once. The benchmark shares the
  // two cores with what it measures, so its own polling is kept light.
  await waitFor(async () => (await countOf(inboundRows(db, channelId, chatBase, count, contentPrefix))) >= expected, `${expected} messages committed`, 300_000, 500);
  return (await inboundRows(db, channelId, chatBase, count, contentPrefix).select('c.thread_key', 'm.platform_message_id', 'm.created_at')) as Array<{
    thread_key: string;
    platform_message_id: string;
    created_at: Date;
  }>;
}

/**
 * The ceiling: an in-process client signal-with-starting a minimal workflow that inserts each
 * message, over as many conversations as PingBack's block at each count. Started (and warmed up)
 * once; `seed` gives each conversation of a count its first message, `measure` runs one measured block.
 */
async function startProbe(address: string, db: Db, pids: ScenarioInput['pids'], metricsUrl?: string) {
  log(`probe: ${RATE}/s for ${SECONDS}s at ${CONVERSATION_COUNTS.map(fmtCount).join(' and ')} conversations, ${PROBE_SENDERS} senders, ${WORKER_INSTANCES} SDK workers, ${ROUNDS} round(s)`);
  await db.raw(`CREATE TABLE IF NOT EXISTS bench_probe (
    id text PRIMARY KEY, conversation text NOT NULL, text text NOT NULL, committed_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
  // Configured as PingBack's worker group (src/temporal/worker.ts): as many SDK workers, each with its
  // share of the cache and slots, the sandbox and sticky timeout as PingBack runs them, so the
  // ceiling is neither lowered by costs PingBack does not pay nor raised by ones it avoids.
  const setting = <K extends 'WORKER_MAX_CACHED_WORKFLOWS' | 'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS' | 'WORKER_MAX_CONCURRENT_ACTIVITIES' | 'WORKER_STICKY_QUEUE_TIMEOUT_MS'>(k: K) =>
    configSchema.shape[k].parse(WORKER_ENV[k]);
  const share = (total: number) => Math.ceil(total / WORKER_INSTANCES);
  const cache = setting('WORKER_MAX_CACHED_WORKFLOWS');
  const workflowBundle = { code: (await bundleWorkflowCode({ workflowsPath: require.resolve('./probe-workflow'), logger: quietLogger })).code };
  const members: Array<{ connection: NativeConnection; worker: Worker }> = [];
  for (let i = 0; i < WORKER_INSTANCES; i++) {
    // A connection each: the SDK core refuses a second worker on the same task queue over one client.
    const connection = await NativeConnection.connect({ address });
    const worker = await Worker.create({
      connection,
      ...workflowSandbox(sandboxSettingsFromEnv()),
      stickyQueueScheduleToStartTimeout: setting('WORKER_STICKY_QUEUE_TIMEOUT_MS'),
      maxCachedWorkflows: share(cache),
      maxConcurrentWorkflowTaskExecutions: cache > 0 ? Math.max(2, Math.min(share(setting('WORKER_MAX_CONCURRENT_WORKFLOW_TASKS')), share(cache))) : share(setting('WORKER_MAX_CONCURRENT_WORKFLOW_TASKS')),
      maxConcurrentActivityTaskExecutions: share(setting('WORKER_MAX_CONCURRENT_ACTIVITIES')),
      taskQueue: 'bench-probe',
      workflowBundle,
      activities: {
        async insertProbeMessage(m: { id: string; conversation: string; text: string }) {
          await db('bench_probe').insert(m).onConflict('id').ignore();
        },
      },
    });
    members.push({ connection, worker });
  }
  // They keep polling, idle, while PingBack is measured (as PingBack's worker idles while the probe is).
  const running = Promise.all(members.map((m) => m.worker.run()));
  // Said at once, not only at stop(): meanwhile the probe's next block would wait for rows in vain.
  running.catch((err) => log(`the probe's worker stopped: ${err}`));
  const client = new Client({ connection: await Connection.connect({ address }) });
  const tag = randomBytes(4).toString('hex');
  const conversationId = (count: number | 'warm', k: number) => `probe-${tag}-${count}-${k}`;
  // At most PROBE_SENDERS signals in flight, as a client with a bounded pool would send them.
  let slots = PROBE_SENDERS;
  const waiters: Array<() => void> = [];
  const signalWithStart = async (workflowId: string, message: { id: string; conversation: string; text: string }) => {
    if (slots === 0) await new Promise<void>((r) => waiters.push(r));
    slots--;
    try {
      const t0 = now();
      await client.workflow.signalWithStart(probeConversation, { workflowId, taskQueue: 'bench-probe', signal: probeMessage, signalArgs: [message] });
      return { t0, ms: now() - t0 };
    } finally {
      slots++;
      waiters.shift()?.();
    }
  };
  const probeCommitted = (run: string) => countOf(db('bench_probe').where('id', 'like', `${run}-%`));
  const probeRows = async (run: string, expected: number) => {
    // Counted twice a second, read once, as PingBack's rows are.
    await waitFor(async () => (await probeCommitted(run)) >= expected, 'probe rows', 300_000, 500);
    return (await db('bench_probe').where('id', 'like', `${run}-%`).select('id', 'committed_at')) as Array<{ id: string; committed_at: Date }>;
  };
  // Warm-up, on conversations of its own, as PingBack's.
  if (WARMUP_SECONDS > 0) {
    const warm = `warm${randomBytes(4).toString('hex')}`;
    let offered = 0;
    let acknowledged = 0;
    const ticker = progress("the probe's warm-up (not measured)", WARMUP_SECONDS, { offered: () => offered, acknowledged: () => acknowledged }, () => probeCommitted(warm));
    await openLoop(RATE, WARMUP_SECONDS, async (i) => {
      offered++;
      await signalWithStart(conversationId('warm', i % 100), { id: `${warm}-${i}`, conversation: String(i % 100), text: `warm-up ${i}` });
      acknowledged++;
    });
    await probeRows(warm, acknowledged);
    await ticker.done();
  }

  /** One unmeasured message to each of `count` conversations, until every one is committed. */
  async function seed(count: number) {
    const run = `seed${count}x${randomBytes(4).toString('hex')}`;
    let offered = 0;
    let acknowledged = 0;
    const ticker = progress(`seeding the probe's ${fmtCount(count)} conversations (not measured)`, count / RATE, { offered: () => offered, acknowledged: () => acknowledged }, () => probeCommitted(run));
    let pending = Array.from({ length: count }, (_, k) => k);
    for (let attempt = 0; pending.length > 0 && attempt < 5; attempt++) {
      const failed: number[] = [];
      const batch = pending;
      await openLoop(RATE, batch.length / RATE, async (i) => {
        offered++;
        const k = batch[i];
        const ok = await signalWithStart(conversationId(count, k), { id: `${run}-${k}`, conversation: String(k), text: 'seed' }).then(
          () => true,
          () => false,
        );
        if (ok) acknowledged++;
        else failed.push(k);
      });
      pending = failed;
    }
    if (pending.length > 0) throw new Error(`${pending.length} of the probe's conversations could not be seeded`);
    await probeRows(run, count);
    await ticker.done();
  }

  async function measure(roundIndex: number, count: number, where: string) {
    log(`${where} · probe: ${RATE}/s for ${SECONDS}s across ${fmtCount(count)} conversations`);
    const run = randomBytes(4).toString('hex');
    const signalMs: number[] = [];
    const signalBySecond: number[][] = [];
    const sentAt = new Map<string, number>();
    let offered = 0;
    const cpu = cpuMeter(pids);
    const countersBefore = await serverCounters(metricsUrl);
    const ticker = progress(`${where} · probe`, SECONDS, { offered: () => offered, acknowledged: () => signalMs.length }, () => probeCommitted(run));
    const started = now();
    // Each round's messages continue where the last round's left off, spread over the count's
    // conversations as PingBack's are.
    const offset = roundIndex * Math.round(RATE * SECONDS);
    const load = await openLoop(RATE, SECONDS, async (i) => {
      offered++;
      const n = offset + i;
      const k = (n * STRIDE) % count;
      const id = `${run}-${n}`;
      const { t0, ms } = await signalWithStart(conversationId(count, k), { id, conversation: String(k), text: `message ${n}` });
      signalMs.push(ms);
      (signalBySecond[Math.floor((t0 - started) / 1000)] ??= []).push(ms);
      sentAt.set(id, t0);
    });
    const rows = await probeRows(run, sentAt.size);
    // The probe's client and worker live in the benchmark's process (PingBack's are idle meanwhile).
    const cpuUsed = cpu();
    await ticker.done();
    const countersAfter = await serverCounters(metricsUrl);
    const commitTimes = rows.map((r) => new Date(r.committed_at).getTime());
    return {
      conversations: count,
      offered: load.offered,
      signal_ms: summary(signalMs),
      signal_p99_ms_by_second: Array.from(signalBySecond, (v) => (v ? round(percentile(v, 99)) : null)),
      signals_per_s: round(signalMs.length / (load.elapsedMs / 1000)),
      committed: rows.length,
      ...commitRates(commitTimes, started, load.offered),
      committed_by_second: perSecond(commitTimes, started),
      end_to_end_ms: summary(rows.map((r) => new Date(r.committed_at).getTime() - sentAt.get(r.id)!)),
      cpu_seconds: { temporal: round(cpuUsed.temporal, 1), postgres: round(cpuUsed.postgres, 1), probe_client_and_worker: round(cpuUsed.bench_and_platform_fake, 1), host_steal: round(cpuUsed.host_steal, 1) },
      // The probe has no api: its client and worker, in the benchmark's process, count as its worker.
      cpu_ms_per_message: perMessage({ api: 0, worker: cpuUsed.bench_and_platform_fake, temporal: cpuUsed.temporal, postgres: cpuUsed.postgres }, rows.length),
      server_work: serverWork(countersBefore, countersAfter),
    };
  }

  return {
    seed,
    measure,
    async stop() {
      // Each conversation's last workflow task (the activity's result) comes after its row; the
      // caller has let the stack settle since, so shutting down leaves nothing on the sticky queue.
      for (const m of members) m.worker.shutdown();
      await running;
      for (const m of members) await m.connection.close();
      await client.connection.close();
    },
  };
}

type ProbeResult = Awaited<ReturnType<Awaited<ReturnType<typeof startProbe>>['measure']>>;
type ScenarioResult = Awaited<ReturnType<typeof runScenario>>;
type Settled = Awaited<ReturnType<typeof settle>>;
/** One count in one round: the probe, then PingBack. */
interface Block {
  conversations: number;
  probe: ProbeResult & { settled: Settled };
  pingback: ScenarioResult & { settled: Settled };
  ratios: Ratios;
}
interface Round {
  round: number;
  blocks: Block[];
}
/** The JSON: what the page reads (BenchReport), and every round whole. */
type FullReport = BenchReport & { rounds: Round[]; context: BenchReport['context'] & { all_new: ScenarioResult & { settled: Settled } } };

/**
 * How fast a block's messages were committed: the steady rate (see steadyRate), whether that kept
 * up with the offer (within 1 %), and, for comparison with earlier runs, all of them over the time
 * from the block's start to its last commit.
 */
function commitRates(commitTimesMs: number[], startedMs: number, offered: number, offeredRate = RATE) {
  const rate = steadyRate(commitTimesMs);
  return {
    committed_per_s: round(rate),
    // Every message offered acknowledged and committed (a refused one would come back as a redelivery), at the offered rate.
    kept_up: rate >= 0.99 * offeredRate && commitTimesMs.length >= offered,
    committed_per_s_to_last_commit: round(commitTimesMs.length / ((Math.max(...commitTimesMs) - startedMs) / 1000)),
  };
}

/** One block's ratios: PingBack against the probe at the same count, measured a minute apart. */
function blockRatios(probe: ProbeResult, pingback: ScenarioResult): Ratios {
  return {
    commit_rate: round(pingback.inbound.committed_per_s / probe.committed_per_s, 2),
    ingress_p99: round(pingback.inbound.ack_ms.p99 / probe.signal_ms.p99, 2),
    cpu_per_message: round(pingback.cpu_ms_per_message.total / probe.cpu_ms_per_message.total, 2),
  };
}

/** One count over the rounds: each figure and ratio the median of the rounds', the latencies pooled. */
function countResult(blocks: Block[], calm: ScenarioResult | undefined): CountResult {
  const med = (f: (b: Block) => number, digits = 2) => {
    const values = blocks.map(f).filter(Number.isFinite);
    return values.length ? round(median(values), digits) : NaN;
  };
  const cpu = (side: 'pingback' | 'probe'): CpuPerMessage => {
    const each = Object.fromEntries(PROCESSES.map((p) => [p, med((b) => b[side].cpu_ms_per_message[p], 3)])) as Record<(typeof PROCESSES)[number], number>;
    // The total as the sum of the medians shown beside it (the ratio is the median of the rounds' ratios).
    return { ...each, total: round(PROCESSES.reduce((sum, p) => sum + each[p], 0), 3) };
  };
  const ratios: Ratios = {
    commit_rate: med((b) => b.ratios.commit_rate),
    ingress_p99: med((b) => b.ratios.ingress_p99),
    cpu_per_message: med((b) => b.ratios.cpu_per_message),
  };
  const pingbackKeptUp = blocks.every((b) => b.pingback.inbound.kept_up);
  const pooled = (k: 'committed' | 'visible' | 'stream' | 'reply') => blocks.flatMap((b) => blockSamples.get(b.pingback)?.[k] ?? []);
  const calmSamples = calm ? blockSamples.get(calm) : undefined;
  return {
    conversations: blocks[0].conversations,
    pingback: {
      committed_per_s: med((b) => b.pingback.inbound.committed_per_s, 1),
      ingress_p99_ms: med((b) => b.pingback.inbound.ack_ms.p99, 1),
      kept_up_every_round: pingbackKeptUp,
      cpu_ms_per_message: cpu('pingback'),
    },
    probe: {
      committed_per_s: med((b) => b.probe.committed_per_s, 1),
      signal_p99_ms: med((b) => b.probe.signal_ms.p99, 1),
      kept_up_every_round: blocks.every((b) => b.probe.kept_up),
      cpu_ms_per_message: cpu('probe'),
    },
    ratios,
    targets: {
      // Or PingBack kept up with the offer in every round: then nothing could have committed more,
      // and a ratio against a probe that kept up too is 1.0 give or take the estimate's noise.
      commit_rate: ratios.commit_rate >= 1.0 || pingbackKeptUp,
      ingress_p99: ratios.ingress_p99 <= 1.2,
      cpu_per_message: ratios.cpu_per_message <= 1.0,
    },
    end_to_end: {
      committed_ms: summary(pooled('committed')),
      visible_ms: summary(pooled('visible')),
      stream_ms: summary(pooled('stream')),
      reply_ms: summary(pooled('reply')),
      visible_samples_ms: pooled('visible').map((v) => round(v)),
      stream_samples_ms: pooled('stream').map((v) => round(v)),
      reply_samples_ms: pooled('reply').map((v) => round(v)),
    },
    calm:
      calm && calmSamples
        ? {
            offered_rate_per_s: CALM_RATE,
            committed_per_s: calm.inbound.committed_per_s,
            kept_up: calm.inbound.kept_up,
            committed_ms: summary(calmSamples.committed),
            visible_ms: summary(calmSamples.visible),
            stream_ms: summary(calmSamples.stream),
            reply_ms: summary(calmSamples.reply),
            stream_samples_ms: calmSamples.stream.map((v) => round(v)),
          }
        : undefined,
  };
}

/** For context: the same ingress persisting straight to PostgreSQL, no Temporal in between. */
async function runDirect(db: Db, env: Record<string, string>, ch: { channelId: string; accountId: string; secret: string }) {
  log(`direct to PostgreSQL: ${RATE}/s for ${SECONDS}s`);
  const config = configSchema.parse({ ...env, PORT: '0' });
  const persist = makePersistInbound(db);
  const signaller = {
    inbound: async (ref: any, message: any) =>
      void (await persist({ ...ref, workflowId: conversationWorkflowId(ref.channelType, ref.channelId, ref.threadKey), messages: [message] })),
    reply: async () => undefined,
    status: async () => undefined,
    messageStatus: async () => 'signalled' as const,
  };
  const app = createApp({ db, secrets: secretBoxFrom(config), temporal: undefined as any, signaller: signaller as any, config, log: silentLogger });
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as any).port}/webhooks/telegram/${ch.channelId}`;
  const ackMs: number[] = [];
  const load = await openLoop(RATE, SECONDS, async (i) => {
    const update = {
      update_id: 900_000_000 + i,
      message: { message_id: i + 1, date: Math.floor(Date.now() / 1000), chat: { id: 9_000_000 + (i % 100), type: 'private', first_name: 'D' }, text: `direct ${i}` },
    };
    const t0 = now();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': ch.secret },
      body: JSON.stringify(update),
    });
    await res.arrayBuffer();
    if (res.ok) ackMs.push(now() - t0);
  });
  await new Promise((r) => server.close(r));
  return { offered: load.offered, acknowledged: ackMs.length, webhooks_per_s: round(ackMs.length / (load.elapsedMs / 1000)), ack_ms: summary(ackMs) };
}

function printTable(r: FullReport) {
  const rounds = r.settings.rounds > 1 ? ` (median of ${r.settings.rounds} rounds)` : '';
  // PingBack's details per count (each figure the median of its rounds'), and the all-new block.
  const scenarios = [...r.settings.conversations.map((_, k) => medianOf(r.rounds.map((x) => x.blocks[k].pingback) as ScenarioResult[])), r.context.all_new];
  const rows: string[][] = [['PingBack', ...scenarios.map((s) => `${s.conversations} ${s.kind} conversations${s.kind === 'live' ? rounds : ''}`)]];
  const add = (name: string, f: (s: ScenarioResult) => unknown) => rows.push([name, ...scenarios.map((s) => String(f(s)))]);
  add('webhooks acknowledged /s', (s) => s.inbound.webhooks_per_s);
  add('ingress ack p50 / p99 ms', (s) => `${s.inbound.ack_ms.p50} / ${s.inbound.ack_ms.p99}`);
  add('  in the api: answer / Temporal signal p99 ms', (s) => `${s.inbound.api_side_p99_ms.webhook} / ${s.inbound.api_side_p99_ms.temporal_signal}`);
  add('  in Temporal: signal-with-start p99 ms', (s) => s.server_work.signal_with_start_p99_ms ?? 'n/a');
  add('inbound committed /s (steady; to the last commit)', (s) => `${s.inbound.committed_per_s}; ${s.inbound.committed_per_s_to_last_commit}`);
  add('inbound end-to-end p50 / p99 ms', (s) => `${s.inbound.end_to_end_ms.p50} / ${s.inbound.end_to_end_ms.p99}`);
  add('visible in the API p50 / p99 ms (sampled)', (s) => (s.visible ? `${s.visible.ms.p50} / ${s.visible.ms.p99}` : 'n/a'));
  add('replies sent /s', (s) => s.replies.sent_per_s);
  add('reply accepted → platform p50 / p99 ms', (s) => `${s.replies.end_to_end_ms.p50} / ${s.replies.end_to_end_ms.p99}`);
  for (const k of Object.keys(scenarios[0].cpu_seconds) as Array<keyof CpuSeconds>) add(`cpu s: ${k}`, (s) => s.cpu_seconds[k]);
  add('workflow tasks past sticky timeout', (s) => s.server_work.workflow_tasks_past_sticky_timeout ?? 'n/a');
  add('workflow tasks timed out (started, not completed in 10 s)', (s) => s.server_work.workflow_tasks_timed_out ?? 'n/a');
  add('workflow tasks per message (sync-matched)', (s) =>
    s.server_work.workflow_tasks_completed === null
      ? 'n/a'
      : `${round(s.server_work.workflow_tasks_completed / s.inbound.committed, 2)} (${round((100 * s.server_work.workflow_tasks_sync_matched!) / Math.max(1, s.server_work.workflow_tasks_polled!))} %)`,
  );
  add('persistence requests per message', (s) => (s.server_work.persistence_requests === null ? 'n/a' : round(s.server_work.persistence_requests / s.inbound.committed, 1)));
  add('server state cache misses / lookups', (s) => (s.server_work.history_cache.lookups === null ? 'n/a' : `${s.server_work.history_cache.misses} / ${s.server_work.history_cache.lookups}`));
  const width = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) console.log(row.map((v, c) => v.padEnd(width[c])).join('  '));
  for (const [k, count] of r.settings.conversations.entries()) {
    const p = medianOf(r.rounds.map((x) => x.blocks[k].probe) as ProbeResult[]);
    const w = p.server_work;
    console.log(
      `\nprobe at ${count} conversations${rounds}: signal p50/p99 ${p.signal_ms.p50}/${p.signal_ms.p99} ms, committed ${p.committed_per_s}/s; cpu s: temporal ${p.cpu_seconds.temporal}, postgres ${p.cpu_seconds.postgres}, client and worker ${p.cpu_seconds.probe_client_and_worker}` +
        (w.workflow_tasks_completed === null
          ? ''
          : `; signal-with-start p99 in Temporal ${w.signal_with_start_p99_ms} ms, ${round(w.workflow_tasks_completed / p.committed, 2)} workflow tasks per message (${round((100 * w.workflow_tasks_sync_matched!) / Math.max(1, w.workflow_tasks_polled!))} % sync-matched), ${round(w.persistence_requests! / p.committed, 1)} persistence requests, past the sticky timeout ${w.workflow_tasks_past_sticky_timeout}, timed out ${w.workflow_tasks_timed_out}`),
    );
  }
  const d = r.context.direct_to_postgres!;
  const m = r.context.memory;
  console.log(`direct to PostgreSQL: ${d.webhooks_per_s} webhooks/s, ack p50/p99 ${d.ack_ms.p50}/${d.ack_ms.p99} ms`);
  console.log(`memory: api ${m.api_peak_rss_mb} MB, worker ${m.worker_peak_rss_mb} MB (the largest worker), Temporal ${m.temporal_peak_rss_mb} MB (peak RSS)`);
  console.log(['', targetsTable(r), '', sideBySideTable(r), '', endToEndTable(r), '', roundsTable(r), ''].join('\n'));
  console.log(verdictLine(r).replace(/\*\*/g, ''));
}

require('./../helpers/runtime').quietTemporalRuntime();
(opts.from ? Promise.resolve().then(() => renderSaved(opts.from!, opts.report!)) : main()).catch((err) => {
  console.error(err);
  process.exit(1);
});
