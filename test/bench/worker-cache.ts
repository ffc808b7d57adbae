/**
 * `npm run bench:worker-cache`: a worker's CPU per message against how many conversation
 * workflows it keeps cached. Seeds N conversations (one message each), then sends 2,000
 * messages spread over them, and reports the CPU this process used per message: the worker
 * (persistInbound stubbed, so no database) plus the in-process client sending the signals.
 *
 *   N=10000 npm run bench:worker-cache             # cache holds all of them (default 20,000)
 *   N=10000 CACHE=2000 npm run bench:worker-cache  # most messages miss the cache and replay
 *   N=10000 INSTANCES=4 npm run bench:worker-cache # four SDK Workers in this process share the cache
 *   N=2000 TRACED=1 npm run bench:worker-cache     # the traced bundle (OTEL_EXPORTER_OTLP_ENDPOINT set), its spans dropped
 *   N=2000 QUIET_END_MS=86400000 npm run bench:worker-cache  # runs with a quiet period, as the api starts them
 */
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { freePort, startDevServer } from '../../src/dev/dev-server';
import { ensureTemporalCli } from '../../src/dev/temporal-cli';
import { conversationSignaller } from '../../src/temporal/conversations';
import { bundleOptions } from '../../src/temporal/workflow-bundle';
import { sandboxSettingsFromEnv, workflowSandbox } from '../../src/temporal/workflow-sandbox';
import type { InboundMessage } from '../../src/channels/types';
import { openLoop } from './stats';
import { quietLogger } from '../helpers/runtime';

const N = Number(process.env.N ?? 2000);
const CACHE = Number(process.env.CACHE ?? 20_000);
const INSTANCES = Number(process.env.INSTANCES ?? 1);
const TRACED = process.env.TRACED === '1';
const MESSAGES = 2000;
const RATE = Number(process.env.RATE ?? 100);
const STRIDE = 7919; // prime: spreads the messages over all N conversations
const cpuSeconds = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};

async function main() {
  const cli = await ensureTemporalCli();
  if (!cli) throw new Error('no Temporal CLI');
  const dev = await startDevServer({ cli, port: await freePort(), logLevel: 'error' });
  let persisted = 0;
  const workflowBundle = await bundleWorkflowCode({ ...bundleOptions({ traced: TRACED }), logger: quietLogger });
  // Traced: the workflows' spans reach the worker's sink (worker-tracing.ts), and are counted, not sent.
  let spans = 0;
  const sinks = TRACED ? { exporter: { export: { fn: (_info: unknown, batch: unknown[]) => void (spans += batch.length) } } } : undefined;
  const workers = await Promise.all(
    Array.from({ length: INSTANCES }, async () =>
      Worker.create({
        // One connection each: the SDK core refuses two workers on one task queue over one client.
        connection: await NativeConnection.connect({ address: dev.address }),
        taskQueue: 'worker-cache',
        workflowBundle,
        sinks,
        maxCachedWorkflows: Math.ceil(CACHE / INSTANCES),
        // The sandbox as PingBack's worker runs it (WORKER_DEADLOCK_TIMEOUT_MS, WORKER_WORKFLOW_STACK_TRACES).
        ...workflowSandbox(sandboxSettingsFromEnv()),
        activities: {
          async persistInbound(input: { messages: unknown[] }) {
            persisted += input.messages.length;
            return { conversationId: 'c', stored: input.messages.length, duplicates: 0, lastMessageAt: new Date().toISOString() };
          },
        },
      }),
    ),
  );
  const client = new Client({ connection: await Connection.connect({ address: dev.address }) });
  // QUIET_END_MS: runs start with a quiet period (CONVERSATION_QUIET_END_HOURS), each holding its timer.
  const signaller = conversationSignaller(client, 'worker-cache', 30_000, undefined, Number(process.env.QUIET_END_MS ?? 0));
  const message: InboundMessage = { platformMessageId: '', threadKey: '', contact: { platformUserId: 'u' }, content: 'x', contentType: 'text', attachments: [], metadata: {} };
  const send = (conversation: number, id: string) =>
    signaller.inbound(
      { accountId: 'a', channelId: 'c', channelType: 'telegram', threadKey: `t${conversation}` },
      { ...message, threadKey: `t${conversation}`, platformMessageId: id },
    );
  const until = async (done: () => boolean) => {
    while (!done()) await new Promise((r) => setTimeout(r, 50));
  };
  const run = async () => {
    for (let i = 0; i < N; i += 50) await Promise.all(Array.from({ length: Math.min(50, N - i) }, (_, k) => send(i + k, 'seed')));
    await until(() => persisted >= N);
    const before = cpuSeconds();
    const started = Date.now();
    // Open loop at a fixed rate (as the benchmark offers webhooks): the CPU per message is then
    // comparable across cache sizes, not flattered by the batching a saturated worker does.
    await openLoop(RATE, MESSAGES / RATE, (i) => send((i * STRIDE) % N, `m${i}`));
    await until(() => persisted >= N + MESSAGES);
    const msPerMessage = ((cpuSeconds() - before) * 1000) / MESSAGES;
    console.log(JSON.stringify({
      conversations: N,
      instances: INSTANCES,
      cached: workers.map((w) => w.getStatus().numCachedWorkflows),
      cpu_ms_per_message: Math.round(msPerMessage * 100) / 100,
      messages_per_s: Math.round(MESSAGES / ((Date.now() - started) / 1000)),
      rss_mb: Math.round(process.memoryUsage().rss / 1e6),
      ...(TRACED ? { traced: true, spans } : {}),
    }));
  };
  const running = workers.map((w) => w.run());
  try {
    await run();
  } finally {
    workers.forEach((w) => w.shutdown());
    await Promise.all(running);
  }
  await dev.stop();
}

require('./../helpers/runtime').quietTemporalRuntime();
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
