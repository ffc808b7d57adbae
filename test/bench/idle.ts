/**
 * `npm run bench:idle`: what quiet conversations cost. In a real inbox most conversations are
 * idle most of the time; each is a workflow waiting for its next signal. This measures, in one
 * process run against a Temporal dev server (persistInbound stubbed, so no database):
 *
 * - the worker's memory and its CPU per message of 100 busy conversations, with 0, 10,000 and
 *   50,000 idle conversations held in its cache (WORKER_MAX_CACHED_WORKFLOWS above them);
 * - the same with the cache bounded below them (1,000: the busy ones stay, the idle are evicted);
 * - what the next message of a quiet conversation costs, cached, evicted (its history replayed),
 *   and ended (a new run: what a workflow that ended after a quiet period would cost instead).
 *
 * CPU is this process's (worker and the client sending signals) plus the Temporal server's.
 *
 *   npm run bench:idle                      # 0, 10,000 and 50,000 idle
 *   IDLE=0,2000 npm run bench:idle          # a quick look
 */
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { freePort, startDevServer } from '../../src/dev/dev-server';
import { ensureTemporalCli } from '../../src/dev/temporal-cli';
import { conversationSignaller } from '../../src/temporal/conversations';
import { bundleOptions } from '../../src/temporal/workflow-bundle';
import { sandboxSettingsFromEnv, workflowSandbox } from '../../src/temporal/workflow-sandbox';
import type { InboundMessage } from '../../src/channels/types';
import { cpuSeconds, openLoop } from './stats';
import { quietLogger } from '../helpers/runtime';

const IDLE = (process.env.IDLE ?? '0,10000,50000').split(',').map(Number);
const BUSY = 100;
const MESSAGES = Number(process.env.MESSAGES ?? 1500);
const RATE = Number(process.env.RATE ?? 50);
const BOUNDED_CACHE = 1_000;
const QUEUE = 'idle-bench';

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const ownCpu = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};
const memory = () => {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss_mb: Math.round(m.rss / 1e6), heap_mb: Math.round(m.heapUsed / 1e6), external_mb: Math.round(m.external / 1e6) };
};

async function main() {
  if (!(globalThis as { gc?: unknown }).gc) console.error('(run with --expose-gc for steady memory figures: npm run bench:idle does)');
  const cli = await ensureTemporalCli();
  if (!cli) throw new Error('no Temporal CLI');
  const dev = await startDevServer({ cli, port: await freePort(), logLevel: 'error' });
  const serverCpu = () => cpuSeconds(dev.process.pid!);
  const workflowBundle = await bundleWorkflowCode({ ...bundleOptions({ traced: false }), logger: quietLogger });
  let persisted = 0;
  const startWorker = async (cache: number) => {
    const worker = await Worker.create({
      connection: await NativeConnection.connect({ address: dev.address }),
      taskQueue: QUEUE,
      workflowBundle,
      maxCachedWorkflows: cache,
      ...workflowSandbox(sandboxSettingsFromEnv()),
      activities: {
        async persistInbound(input: { messages: unknown[] }) {
          persisted += input.messages.length;
          return { conversationId: 'c', stored: input.messages.length, duplicates: 0, lastMessageAt: new Date().toISOString() };
        },
      },
    });
    return { worker, running: worker.run() };
  };
  const client = new Client({ connection: await Connection.connect({ address: dev.address }) });
  const signaller = conversationSignaller(client, QUEUE, 60_000);
  const message: InboundMessage = { platformMessageId: '', threadKey: '', contact: { platformUserId: 'u' }, content: 'x', contentType: 'text', attachments: [], metadata: {} };
  let sent = 0;
  const send = (thread: string) => {
    sent++;
    return signaller.inbound({ accountId: 'a', channelId: 'c', channelType: 'telegram', threadKey: thread }, { ...message, threadKey: thread, platformMessageId: `m${sent}` });
  };
  const until = async (done: () => boolean) => {
    while (!done()) await new Promise((r) => setTimeout(r, 50));
  };
  const settled = () => until(() => persisted >= sent);
  /** Fifty at a time, as fast as they go: seeding, not measured. */
  const seed = async (threads: string[]) => {
    for (let i = 0; i < threads.length; i += 50) await Promise.all(threads.slice(i, i + 50).map(send));
    await settled();
  };
  /** An open loop at RATE over `pick(i)`: CPU ms per message of this process and of Temporal. */
  const measure = async (pick: (i: number) => string) => {
    await settled();
    const [own, server] = [ownCpu(), serverCpu()];
    await openLoop(RATE, MESSAGES / RATE, (i) => send(pick(i)));
    await settled();
    const worker = ((ownCpu() - own) * 1000) / MESSAGES;
    const temporal = ((serverCpu() - server) * 1000) / MESSAGES;
    return { worker_ms: round(worker), temporal_ms: round(temporal), total_ms: round(worker + temporal) };
  };
  const busy = (i: number) => `busy${i % BUSY}`;
  const idleThreads = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `idle${from + i}`);
  let fresh = 0;
  const rows: Array<Record<string, unknown>> = [];
  const log = (row: Record<string, unknown>) => {
    rows.push(row);
    console.log(JSON.stringify(row));
  };

  // Cached: a cache above every conversation.
  let w = await startWorker(Math.max(...IDLE) + BUSY + 2 * MESSAGES + 1_000);
  await seed(Array.from({ length: BUSY }, (_, i) => busy(i)));
  let idle = 0;
  for (const target of IDLE) {
    if (target > idle) {
      const started = Date.now();
      await seed(idleThreads(idle, target));
      console.error(`seeded ${target - idle} idle conversations in ${round((Date.now() - started) / 1000, 1)} s`);
      idle = target;
    }
    log({ cache: 'all', idle, cached: w.worker.getStatus().numCachedWorkflows, ...memory(), busy: await measure(busy) });
  }
  // The next message of a quiet conversation that is cached, and of a new one (a new run).
  const quiet = (i: number) => `idle${(i * 7919) % idle}`;
  if (idle >= MESSAGES) log({ cache: 'all', idle, returning_cached: await measure(quiet) });
  log({ cache: 'all', idle, new_run: await measure(() => `new${fresh++}`) });

  // Bounded: the idle ones leave the cache; the busy ones stay (they are the most recently used).
  w.worker.shutdown();
  await w.running;
  w = await startWorker(BOUNDED_CACHE);
  await seed(Array.from({ length: BUSY }, (_, i) => busy(i)));
  log({ cache: BOUNDED_CACHE, idle, cached: w.worker.getStatus().numCachedWorkflows, ...memory(), busy: await measure(busy) });
  if (idle >= MESSAGES) log({ cache: BOUNDED_CACHE, idle, returning_evicted: await measure((i) => `idle${(i * 7919 + 1) % idle}`) });
  log({ cache: BOUNDED_CACHE, idle, new_run: await measure(() => `new${fresh++}`) });

  w.worker.shutdown();
  await w.running;
  await dev.stop();
  console.log(JSON.stringify({ rate: RATE, messages: MESSAGES, busy: BUSY, rows }));
}

require('./../helpers/runtime').quietTemporalRuntime();
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
