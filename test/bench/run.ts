/**
 * `npm run bench`: PingBack's real stack on this machine (API and worker as their
 * own processes, the Telegram sandbox as the platform), measured against the
 * ceiling of the Temporal server it runs on. See docs/benchmark.md.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
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
import { cpuSeconds, cpuSecondsOf, histogramQuantile, median, medianOf, openLoop, peakRssMb, peakRssMbOfTree, percentile, round, steadyRate, stolenSeconds, summary } from './stats';
import { probeConversation, probeMessage } from './probe-workflow';
import { histogramBuckets } from '../helpers/prometheus';

const ROOT = path.resolve(__dirname, '../..');
const { values: opts } = parseArgs({
  options: {
    temporal: { type: 'string', default: 'dev' }, // dev (SQLite file) | memory | server (PostgreSQL)
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '20' },
    // Unmeasured traffic first, for the probe and for PingBack alike: JIT, connection pools and caches
    // warm, as in a running deployment (each of a worker's SDK workers JIT-compiles in its own thread,
    // so 3 s left the first scenario measuring warm-up). Its conversations are not the measured ones.
    warmup: { type: 'string', default: '10' },
    conversations: { type: 'string', default: '100,10000' },
    'reply-rate': { type: 'string', default: '10' },
    // The probe and each live scenario are measured this many times, taking turns (probe, 100, 10,000,
    // probe, 100, ...), so each round's ratios compare figures taken a minute apart on the same host;
    // the verdict is each ratio's median over the rounds. One run of each, minutes apart, swung the
    // ratios 2x either way.
    rounds: { type: 'string', default: '3' },
    // PingBack worker processes; conversations stick to the one that first ran them.
    workers: { type: 'string', default: '1' },
    // SDK workers in each worker process (WORKER_INSTANCES); unset: PingBack's default.
    'worker-instances': { type: 'string' },
    // Runs the worker processes under `nice -n N`: on one host, the ingress and Temporal get the CPU
    // first and the worker takes what is left, as when workers run on hosts of their own. Everything
    // here shares one host, so by default the worker runs as docs/tuning.md ("Sharing a host") says to run it
    // there (and docker-compose.yml does: cpu_shares, and a 30 s sticky timeout, below); 0 to compare.
    'worker-nice': { type: 'string', default: '10' },
    out: { type: 'string', default: 'test-results/bench.json' },
  },
});
const RATE = Number(opts.rate);
const SECONDS = Number(opts.seconds);
const WARMUP_SECONDS = Number(opts.warmup);
const REPLY_RATE = Number(opts['reply-rate']);
const ROUNDS = Number(opts.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('--rounds: a positive integer');
const CONVERSATION_COUNTS = opts.conversations!.split(',').map(Number);
// Messages are spread over a scenario's conversations by a stride coprime with their count.
if (CONVERSATION_COUNTS.some((n) => !(n > 0) || n % 7919 === 0)) throw new Error('--conversations: positive counts, none a multiple of 7919');
const WORKER_NICE = Number(opts['worker-nice']);
if (!Number.isInteger(WORKER_NICE) || WORKER_NICE < 0 || WORKER_NICE > 19) throw new Error('--worker-nice: an integer from 0 to 19');
const PROBE_CONVERSATIONS = 500;
const PROBE_SENDERS = 64;
const log = (line: string) => console.error(`[bench] ${line}`);
const now = () => performance.timeOrigin + performance.now();

const WORKER_ENV = {
  // A deprioritised worker lets its backlog grow longer: the sticky timeout docs/tuning.md ("Sharing a host") pairs with it.
  ...(WORKER_NICE > 0 ? { WORKER_STICKY_QUEUE_TIMEOUT_MS: '30000' } : {}),
  ...Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('WORKER_') && e[1] !== undefined)),
};

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

    // The ceiling first, on a fresh server, so no backlog of PingBack's own skews it.
    const pids = { api: api.pid!, workers: workers.map((w) => w.pid!), temporal: temporal.process.pid! };
    const probe = await startProbe(temporal.address, db, pids, temporal.metricsUrl);
    await warmUp(fake, token, db, channelId);
    const common = { base, db, fake, token, apiKey, channelId, pids, metricsUrl: temporal.metricsUrl, apiMetricsUrl: `http://${apiMetricsAddress}/metrics` };
    // Steady state: every conversation exists (as in a running inbox) before messages spread over all of them.
    const live = CONVERSATION_COUNTS.map((count, k) => ({ ...common, conversations: count, chatBase: 1_000_000 * (k + 1), kind: 'live' as const }));
    for (const s of live) await seedConversations(fake, token, db, channelId, s.chatBase, s.conversations);
    let settled = await settle(pids, `seeding ${CONVERSATION_COUNTS.join(' and ')} conversations`);
    const rounds: Round[] = [];
    try {
      for (let r = 0; r < ROUNDS; r++) {
        log(`round ${r + 1} of ${ROUNDS}`);
        const probeResult = { ...(await probe.measure(r)), settled };
        settled = await settle(pids, "the probe's measured phase");
        const scenarios = [];
        for (const s of live) {
          scenarios.push({ ...(await runScenario({ ...s, round: r })), settled });
          settled = await settle(pids, `${s.conversations} conversations`);
        }
        rounds.push({ round: r + 1, probe: probeResult, scenarios, ratios: roundRatios(probeResult, scenarios) });
      }
    } finally {
      await probe.stop();
    }
    // The worst case, for context: every message is a new customer's first, so starts a workflow.
    const newCount = CONVERSATION_COUNTS[CONVERSATION_COUNTS.length - 1];
    const fresh = { ...(await runScenario({ ...common, conversations: newCount, chatBase: 1_000_000 * (CONVERSATION_COUNTS.length + 1), kind: 'new', round: 0 })), settled };
    const memory = {
      api_peak_rss_mb: peakRssMb(api.pid!),
      worker_peak_rss_mb: Math.max(...workers.map((w) => peakRssMb(w.pid!) ?? 0)),
      temporal_peak_rss_mb: peakRssMbOfTree(temporal.process.pid!),
    };
    await settle(pids, 'the last scenario');
    const direct = await runDirect(db, env, { channelId, accountId, secret });

    // The verdict: each ratio's median over the rounds (each round compares figures taken minutes apart at most).
    const ratios = {
      commit_rate_vs_probe: round(median(rounds.map((r) => r.ratios.commit_rate_vs_probe)), 2),
      ingress_p99_vs_probe_signal_p99: round(median(rounds.map((r) => r.ratios.ingress_p99_vs_probe_signal_p99)), 2),
      rate_many_vs_few_conversations: round(median(rounds.map((r) => r.ratios.rate_many_vs_few_conversations)), 2),
      // No target: what a flood of new customers costs (one workflow start per message), against the rounds' median.
      rate_all_new_vs_few_conversations: round(fresh.inbound.committed_per_s / median(rounds.map((r) => r.scenarios[0].inbound.committed_per_s)), 2),
    };
    const report = {
      machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, memory_gb: round(os.totalmem() / 2 ** 30), node: process.version },
      settings: { temporal: opts.temporal, offered_rate_per_s: RATE, seconds: SECONDS, rounds: ROUNDS, reply_rate_per_s: REPLY_RATE, workers: Number(opts.workers), worker_instances: Number(opts['worker-instances'] ?? configSchema.shape.WORKER_INSTANCES.parse(undefined)), worker_nice: WORKER_NICE, worker_env: WORKER_ENV },
      // Each figure the median of its rounds' (per-second lists round 1's; the rounds whole below), so a
      // row mixes rounds; then the all-new scenario, run once.
      scenarios: [...live.map((_, k) => medianOf(rounds.map((r) => r.scenarios[k]))), fresh],
      probe: medianOf(rounds.map((r) => r.probe)),
      rounds,
      memory,
      direct_to_postgres: direct,
      ratios,
      targets: {
        // Or PingBack kept up with the offer in every round: then nothing could have committed more,
        // and a ratio against a probe that kept up too is 1.0 give or take the estimate's noise.
        commit_rate_at_least_1_0x_probe: ratios.commit_rate_vs_probe >= 1.0 || rounds.every((r) => r.scenarios[0].inbound.kept_up),
        ingress_p99_at_most_1_2x_probe: ratios.ingress_p99_vs_probe_signal_p99 <= 1.2,
        many_conversations_at_least_0_8x_few: ratios.rate_many_vs_few_conversations >= 0.8,
      },
    };
    fs.mkdirSync(path.dirname(opts.out!), { recursive: true });
    fs.writeFileSync(opts.out!, JSON.stringify(report, null, 2));
    printTable(report);
    log(`JSON written to ${opts.out}`);
  } finally {
    await cleanup();
  }
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

/** One unmeasured message to each of `count` conversations, until every one is committed. */
async function seedConversations(fake: TelegramFake, token: string, db: Db, channelId: string, chatBase: number, count: number) {
  log(`seeding ${count} conversations (not measured)`);
  let pending = Array.from({ length: count }, (_, i) => chatBase + i);
  for (let round = 0; pending.length > 0 && round < 5; round++) {
    const refused: number[] = [];
    const batch = pending;
    await openLoop(RATE, batch.length / RATE, async (i) => {
      const r = await fake.customerSends(token, { chatId: batch[i], firstName: 'Bench', text: 'seed' }).catch(() => undefined);
      if (r?.status !== 200) refused.push(batch[i]);
    });
    pending = refused;
  }
  if (pending.length > 0) throw new Error(`${pending.length} conversations could not be seeded`);
  await waitForRows(db, channelId, count, chatBase, count, 'seed');
}

/** Unmeasured webhooks to conversations of their own, until all are committed. */
async function warmUp(fake: TelegramFake, token: string, db: Db, channelId: string) {
  if (WARMUP_SECONDS <= 0) return;
  log(`warm-up: ${RATE}/s for ${WARMUP_SECONDS}s (not measured)`);
  const chatBase = 900_000_000;
  let acknowledged = 0;
  await openLoop(RATE, WARMUP_SECONDS, async (i) => {
    const r = await fake.customerSends(token, { chatId: chatBase + (i % 100), firstName: 'Warm', text: `warm-up ${i}` });
    if (r.status === 200) acknowledged++;
  });
  await waitForRows(db, channelId, acknowledged, chatBase, 100, 'warm-up');
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
const cpuSince = (before: CpuSeconds, after: CpuSeconds) =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, round(v - before[k as keyof CpuSeconds], 1)]));

/** Where the two cores went: CPU seconds per process over a scenario. */
function cpuMeter(pids: ScenarioInput['pids']) {
  const read = cpuReader(pids);
  const before = read();
  return () => cpuSince(before, read());
}

async function runScenario(s: ScenarioInput) {
  log(`inbound: ${RATE}/s for ${SECONDS}s across ${s.conversations} ${s.kind} conversations, replies ${REPLY_RATE}/s`);
  const sentAt = new Map<string, number>();
  const ackMs: number[] = [];
  const ackBySecond: number[][] = [];
  let refused = 0;
  const replies: string[] = [];
  let replyRefused = 0;
  const cpu = cpuMeter(s.pids);
  const countersBefore = await serverCounters(s.metricsUrl);
  const apiBefore = await apiTimings(s.apiMetricsUrl);
  const started = now();
  const offset = s.round * Math.round(RATE * SECONDS);
  const text = `round ${s.round + 1} message `;
  const inbound = openLoop(RATE, SECONDS, async (i) => {
    const n = offset + i;
    const chatId = s.chatBase + (s.kind === 'live' ? (n * STRIDE) % s.conversations : n % s.conversations);
    const t0 = now();
    const r = await s.fake.customerSends(s.token, { chatId, firstName: 'Bench', text: `${text}${i}` }).catch(() => undefined);
    // Not acknowledged (5xx or no answer in time): the platform would deliver it again later.
    if (r?.status !== 200) return void refused++;
    const ack = now() - t0;
    ackMs.push(ack);
    (ackBySecond[Math.floor((t0 - started) / 1000)] ??= []).push(ack);
    sentAt.set(`${chatId}/${(r.update as any).message.message_id}`, t0);
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
    if (convs.length === 0) return;
    await openLoop(REPLY_RATE, SECONDS - 2, async (i) => {
      const r = await api(s.base, 'POST', `/api/conversations/${convs[i % convs.length].id}/messages`, s.apiKey, { content: `reply ${i}` });
      if (r.status === 202) replies.push(r.body.id);
      else replyRefused++;
    });
  })();
  const load = await inbound;
  await outbound;

  const rows = await waitForRows(s.db, s.channelId, sentAt.size, s.chatBase, s.conversations, text);
  const cpuUsed = cpu();
  const countersAfter = await serverCounters(s.metricsUrl);
  const apiAfter = await apiTimings(s.apiMetricsUrl);
  const e2e: number[] = [];
  for (const r of rows) {
    const t0 = sentAt.get(`${r.thread_key}/${r.platform_message_id}`);
    if (t0 !== undefined) e2e.push(new Date(r.created_at).getTime() - t0);
  }
  await waitFor(async () => (await s.db('messages').whereIn('id', replies).where({ status: 'pending' }).count('* as n'))[0].n == 0, 'replies done', 180_000);
  const out = await s.db('messages').whereIn('id', replies).select('status', 'created_at', 'sent_at');
  const sent = out.filter((m) => m.status === 'sent');
  const replyMs = sent.map((m) => new Date(m.sent_at).getTime() - new Date(m.created_at).getTime());
  const replyWindow = (Math.max(...sent.map((m) => new Date(m.sent_at).getTime())) - Math.min(...out.map((m) => new Date(m.created_at).getTime()))) / 1000;
  return {
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
      ...commitRates(rows.map((r) => new Date(r.created_at).getTime()), started, load.offered),
      end_to_end_ms: summary(e2e),
    },
    cpu_seconds: cpuUsed,
    // The server's work from the scenario's start until its last message committed, the replies'
    // share so far included: the table shows it per committed message.
    server_work: serverWork(countersBefore, countersAfter),
    replies: {
      accepted: replies.length,
      refused: replyRefused,
      sent: sent.length,
      failed: out.length - sent.length,
      sent_per_s: round(sent.length / replyWindow),
      end_to_end_ms: summary(replyMs),
    },
  };
}

/** The api's histograms of Telegram webhook answers and of the inbound signals they made. */
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
  const query = () =>
    db('messages as m')
      .join('conversations as c', 'c.id', 'm.conversation_id')
      .where({ 'c.channel_id': channelId, 'm.direction': 'inbound' })
      .whereBetween('c.thread_key', [String(chatBase), String(chatBase + count)])
      .where('m.content', 'like', `${contentPrefix}%`);
  // Counted, twice a second, until all are in; the rows are read once. The benchmark shares the
  // two cores with what it measures, so its own polling is kept light.
  await waitFor(async () => Number((await query().count('* as n'))[0].n) >= expected, `${expected} messages committed`, 300_000, 500);
  return (await query().select('c.thread_key', 'm.platform_message_id', 'm.created_at')) as Array<{
    thread_key: string;
    platform_message_id: string;
    created_at: Date;
  }>;
}

/**
 * The ceiling: an in-process client signal-with-starting a minimal workflow that inserts each
 * message. Started (and warmed up) once; `measure` runs one measured phase per round.
 */
async function startProbe(address: string, db: Db, pids: ScenarioInput['pids'], metricsUrl?: string) {
  log(`probe: ${RATE}/s for ${SECONDS}s across ${PROBE_CONVERSATIONS} conversations, ${PROBE_SENDERS} senders, ${ROUNDS} round(s)`);
  await db.raw(`CREATE TABLE IF NOT EXISTS bench_probe (
    id text PRIMARY KEY, conversation text NOT NULL, text text NOT NULL, committed_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
  const connection = await NativeConnection.connect({ address });
  // The sandbox and sticky timeout as PingBack's worker runs them (src/temporal/workflow-sandbox.ts,
  // WORKER_STICKY_QUEUE_TIMEOUT_MS), so the ceiling is not lowered by costs PingBack does not pay.
  const worker = await Worker.create({
    connection,
    ...workflowSandbox(sandboxSettingsFromEnv()),
    stickyQueueScheduleToStartTimeout: configSchema.shape.WORKER_STICKY_QUEUE_TIMEOUT_MS.parse(WORKER_ENV.WORKER_STICKY_QUEUE_TIMEOUT_MS),
    taskQueue: 'bench-probe',
    workflowsPath: require.resolve('./probe-workflow'),
    activities: {
      async insertProbeMessage(m: { id: string; conversation: string; text: string }) {
        await db('bench_probe').insert(m).onConflict('id').ignore();
      },
    },
  });
  // It keeps polling, idle, while PingBack is measured (as PingBack's worker idles while the probe is).
  const running = worker.run();
  // Said at once, not only at stop(): meanwhile the probe's next round would wait for rows in vain.
  running.catch((err) => log(`the probe's worker stopped: ${err}`));
  const client = new Client({ connection: await Connection.connect({ address }) });
  // The warm-up and the measured runs message the same 500 conversations, so the probe is
  // measured in steady state as PingBack is: its conversations exist before the clock starts.
  const conversations = randomBytes(4).toString('hex');
  const signalWithStart = (run: string, i: number) =>
    client.workflow.signalWithStart(probeConversation, {
      workflowId: `probe-${conversations}-${i % PROBE_CONVERSATIONS}`,
      taskQueue: 'bench-probe',
      signal: probeMessage,
      signalArgs: [{ id: `${run}-${i}`, conversation: String(i % PROBE_CONVERSATIONS), text: `message ${i}` }],
    });
  const probeRows = async (run: string, expected: number) => {
    let rows: Array<{ id: string; committed_at: Date }> = [];
    await waitFor(async () => {
      rows = await db('bench_probe').where('id', 'like', `${run}-%`).select('id', 'committed_at');
      return rows.length >= expected;
    }, 'probe rows', 300_000);
    return rows;
  };
  // Warm-up: at least one message to each conversation, however short --warmup is.
  const warm = `warm${randomBytes(4).toString('hex')}`;
  let acknowledged = 0;
  await openLoop(RATE, Math.max(WARMUP_SECONDS, PROBE_CONVERSATIONS / RATE), async (i) => void (await signalWithStart(warm, i), acknowledged++));
  await probeRows(warm, acknowledged);
  await settle(pids, "the probe's warm-up");

  async function measure(roundIndex: number) {
    const run = randomBytes(4).toString('hex');
    const signalMs: number[] = [];
    const sentAt = new Map<string, number>();
    let slots = PROBE_SENDERS;
    const waiters: Array<() => void> = [];
    const cpu = cpuMeter(pids);
    const countersBefore = await serverCounters(metricsUrl);
    const started = now();
    // Each round's messages continue where the last round's left off, over the same conversations.
    const offset = roundIndex * Math.round(RATE * SECONDS);
    const load = await openLoop(RATE, SECONDS, async (i) => {
      if (slots === 0) await new Promise<void>((r) => waiters.push(r));
      slots--;
      try {
        const t0 = now();
        await signalWithStart(run, offset + i);
        signalMs.push(now() - t0);
        sentAt.set(`${run}-${offset + i}`, t0);
      } finally {
        slots++;
        waiters.shift()?.();
      }
    });
    const rows = await probeRows(run, sentAt.size);
    // The probe's client and worker live in the benchmark's process (PingBack's are idle meanwhile).
    const cpuUsed = cpu();
    const countersAfter = await serverCounters(metricsUrl);
    return {
      offered: load.offered,
      signal_ms: summary(signalMs),
      signals_per_s: round(signalMs.length / (load.elapsedMs / 1000)),
      committed: rows.length,
      ...commitRates(rows.map((r) => new Date(r.committed_at).getTime()), started, load.offered),
      end_to_end_ms: summary(rows.map((r) => new Date(r.committed_at).getTime() - sentAt.get(r.id)!)),
      cpu_seconds: { temporal: cpuUsed.temporal, postgres: cpuUsed.postgres, probe_client_and_worker: cpuUsed.bench_and_platform_fake, host_steal: cpuUsed.host_steal },
      server_work: serverWork(countersBefore, countersAfter),
    };
  }

  return {
    measure,
    async stop() {
      // Each conversation's last workflow task (the activity's result) comes after its row; the
      // caller has let the stack settle since, so shutting down leaves nothing on the sticky queue.
      worker.shutdown();
      await running;
      await connection.close();
      await client.connection.close();
    },
  };
}

type ProbeResult = Awaited<ReturnType<Awaited<ReturnType<typeof startProbe>>['measure']>>;
type ScenarioResult = Awaited<ReturnType<typeof runScenario>>;
interface Round {
  round: number;
  probe: ProbeResult;
  scenarios: ScenarioResult[];
  ratios: ReturnType<typeof roundRatios>;
}

/**
 * How fast a block's messages were committed: the steady rate (see steadyRate), whether that kept
 * up with the offer (within 1 %), and, for comparison with earlier runs, all of them over the time
 * from the block's start to its last commit.
 */
function commitRates(commitTimesMs: number[], startedMs: number, offered: number) {
  const rate = steadyRate(commitTimesMs);
  return {
    committed_per_s: round(rate),
    // Every message offered acknowledged and committed (a refused one would come back as a redelivery), at the offered rate.
    kept_up: rate >= 0.99 * RATE && commitTimesMs.length >= offered,
    committed_per_s_to_last_commit: round(commitTimesMs.length / ((Math.max(...commitTimesMs) - startedMs) / 1000)),
  };
}

/** One round's ratios: PingBack's first live scenario against the probe, its last against its first. */
function roundRatios(probe: ProbeResult, scenarios: ScenarioResult[]) {
  const first = scenarios[0];
  const last = scenarios[scenarios.length - 1];
  return {
    commit_rate_vs_probe: round(first.inbound.committed_per_s / probe.committed_per_s, 2),
    ingress_p99_vs_probe_signal_p99: round(first.inbound.ack_ms.p99 / probe.signal_ms.p99, 2),
    rate_many_vs_few_conversations: round(last.inbound.committed_per_s / first.inbound.committed_per_s, 2),
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

function printTable(r: any) {
  const rounds = r.settings.rounds > 1 ? ` (median of ${r.settings.rounds} rounds)` : '';
  const rows: string[][] = [['measure', ...r.scenarios.map((s: any) => `${s.conversations} ${s.kind} conversations${s.kind === 'live' ? rounds : ''}`)]];
  const add = (name: string, f: (s: any) => unknown) => rows.push([name, ...r.scenarios.map((s: any) => String(f(s)))]);
  add('webhooks acknowledged /s', (s) => s.inbound.webhooks_per_s);
  add('ingress ack p50 / p99 ms', (s) => `${s.inbound.ack_ms.p50} / ${s.inbound.ack_ms.p99}`);
  add('  in the api: answer / Temporal signal p99 ms', (s) => `${s.inbound.api_side_p99_ms.webhook} / ${s.inbound.api_side_p99_ms.temporal_signal}`);
  add('  in Temporal: signal-with-start p99 ms', (s) => s.server_work.signal_with_start_p99_ms ?? 'n/a');
  add('inbound committed /s (steady; to the last commit)', (s) => `${s.inbound.committed_per_s}; ${s.inbound.committed_per_s_to_last_commit}`);
  add('inbound end-to-end p50 / p99 ms', (s) => `${s.inbound.end_to_end_ms.p50} / ${s.inbound.end_to_end_ms.p99}`);
  add('replies sent /s', (s) => s.replies.sent_per_s);
  add('reply end-to-end p50 / p99 ms', (s) => `${s.replies.end_to_end_ms.p50} / ${s.replies.end_to_end_ms.p99}`);
  for (const k of Object.keys(r.scenarios[0].cpu_seconds)) add(`cpu s: ${k}`, (s) => s.cpu_seconds[k]);
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
  console.log(`\nprobe (${PROBE_CONVERSATIONS} conversations${rounds}): signal p50/p99 ${r.probe.signal_ms.p50}/${r.probe.signal_ms.p99} ms, committed ${r.probe.committed_per_s}/s; cpu s: temporal ${r.probe.cpu_seconds.temporal}, postgres ${r.probe.cpu_seconds.postgres}, client and worker ${r.probe.cpu_seconds.probe_client_and_worker}`);
  const pw = r.probe.server_work;
  if (pw.workflow_tasks_completed !== null) {
    console.log(`probe signal-with-start p99 in Temporal: ${pw.signal_with_start_p99_ms} ms`);
    console.log(`probe server work per message: ${round(pw.workflow_tasks_completed / r.probe.committed, 2)} workflow tasks (${round((100 * pw.workflow_tasks_sync_matched!) / Math.max(1, pw.workflow_tasks_polled!))} % sync-matched), ${round(pw.persistence_requests! / r.probe.committed, 1)} persistence requests; workflow tasks past the sticky timeout ${pw.workflow_tasks_past_sticky_timeout}, timed out ${pw.workflow_tasks_timed_out}`);
  }
  console.log(`direct to PostgreSQL: ${r.direct_to_postgres.webhooks_per_s} webhooks/s, ack p50/p99 ${r.direct_to_postgres.ack_ms.p50}/${r.direct_to_postgres.ack_ms.p99} ms`);
  console.log(`memory: api ${r.memory.api_peak_rss_mb} MB, worker ${r.memory.worker_peak_rss_mb} MB (the largest worker), Temporal ${r.memory.temporal_peak_rss_mb} MB (peak RSS)`);
  const [few, many] = [CONVERSATION_COUNTS[0], CONVERSATION_COUNTS[CONVERSATION_COUNTS.length - 1]];
  console.log(`\nround  probe p99 ms  ${few}: ack p99 ms  probe committed/s  ${few}: committed/s  ${many}: committed/s  host steal s  ratios (commit · ingress p99 · ${many} vs ${few})`);
  for (const x of r.rounds) {
    const steal = round(x.probe.cpu_seconds.host_steal + x.scenarios.reduce((sum: number, s: any) => sum + s.cpu_seconds.host_steal, 0));
    console.log([x.round, x.probe.signal_ms.p99, x.scenarios[0].inbound.ack_ms.p99, x.probe.committed_per_s, x.scenarios[0].inbound.committed_per_s, x.scenarios[x.scenarios.length - 1].inbound.committed_per_s, steal, Object.values(x.ratios).join(' · ')].join('  '));
  }
  console.log(`ratios (median of the rounds'): ${JSON.stringify(r.ratios)}\ntargets met: ${JSON.stringify(r.targets)}`);
}

require('./../helpers/runtime').quietTemporalRuntime();
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
