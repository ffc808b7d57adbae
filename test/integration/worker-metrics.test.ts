import type { ChildProcess } from 'node:child_process';
import { freePort } from '../../src/dev/dev-server';
import { TelegramFake } from '../../src/sandbox/telegram';
import { matching, sample, sum } from '../helpers/prometheus';
import { connectTelegramChannel, eventually, request, Stack, startStack } from '../helpers/stack';
import { kill9, spawnWorker } from '../helpers/worker-process';

/**
 * An operator sets WORKER_METRICS_ADDRESS and scrapes the worker: the SDK's own metrics are
 * there, and they move when the worker does work; PingBack's sends by channel type and outcome;
 * and the Node.js process's own (CPU, memory, event-loop lag, GC).
 */
let telegram: TelegramFake;
let stack: Stack;
let worker: ChildProcess | undefined;

beforeAll(async () => {
  telegram = await TelegramFake.start({ allowHttpWebhooks: true });
  stack = await startStack({ TELEGRAM_API_BASE_URL: telegram.baseUrl }, { worker: false });
});
afterAll(async () => {
  if (worker) await kill9(worker);
  await stack?.stop();
  await telegram?.stop();
});

test('the worker serves Temporal SDK metrics, its sends and its process metrics for Prometheus at WORKER_METRICS_ADDRESS', async () => {
  const address = `127.0.0.1:${await freePort()}`;
  worker = await spawnWorker(stack.config, { WORKER_METRICS_ADDRESS: address });
  const scrape = async () => {
    const r = await fetch(`http://${address}/metrics`);
    expect(r.status).toBe(200);
    return r.text();
  };
  expect(await scrape()).toMatch(/^temporal_/m);
  // The probes beside the metrics: alive, and ready once its SDK workers poll and Temporal answers.
  expect(await (await fetch(`http://${address}/livez`)).json()).toEqual({ status: 'ok' });
  const ready = await fetch(`http://${address}/readyz`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toMatchObject({ status: 'ready', checks: { workers: { ok: true }, temporal: { ok: true }, postgres: { ok: true } } });

  // A Telegram channel: its set-up workflow runs, and a customer message starts a conversation.
  const { apiKey, token } = await connectTelegramChannel(stack);
  expect((await telegram.customerSends(token, { chatId: 770001, firstName: 'Mia', text: 'metrics?' })).status).toBe(200);
  const [conv] = await eventually(async () => {
    const data = (await request(stack.url, 'GET', '/api/conversations', { token: apiKey })).body.data;
    return data.length === 1 ? data : undefined;
  });
  // An agent's reply, sent by the worker's activity on its first attempt.
  expect((await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: 'counted' } })).status).toBe(202);

  const text = await eventually(async () => {
    const t = await scrape();
    return sum(t, 'temporal_workflow_task_execution_latency_count') > 0 && sum(t, 'temporal_activity_execution_latency_count') > 0 ? t : undefined;
  }, 30_000, 'task metrics recorded');
  expect(text).toContain(`task_queue="${stack.config.TEMPORAL_TASK_QUEUE}"`);
  expect(text).toMatch(/^temporal_sticky_cache_size\{/m);

  // The reply: one attempt, sent.
  const sent = await eventually(async () => {
    const t = await scrape();
    return sum(t, 'pingback_sends', { channel_type: 'telegram', outcome: 'sent' }) > 0 ? t : undefined;
  }, 30_000, 'the send counted');
  expect(sum(sent, 'pingback_sends', { channel_type: 'telegram', outcome: 'sent' })).toBe(1);
  expect(sum(sent, 'pingback_sends', { channel_type: 'telegram', outcome: 'failed' })).toBe(0);
  expect(sum(sent, 'pingback_send_attempts_count', { channel_type: 'telegram', outcome: 'sent' })).toBe(1);
  expect(sum(sent, 'pingback_send_attempts_sum', { channel_type: 'telegram', outcome: 'sent' })).toBe(1);
  expect(matching(sent, 'pingback_send_attempts_bucket', { channel_type: 'telegram', outcome: 'sent', le: '1' }).map((s) => s.value)).toEqual([1]);

  // The process's own, after the SDK's: CPU, memory, event-loop lag, GC.
  expect(sample(sent, 'process_cpu_seconds_total', {})).toBeGreaterThan(0);
  expect(sample(sent, 'process_resident_memory_bytes', {})).toBeGreaterThan(0);
  expect(sample(sent, 'nodejs_eventloop_lag_seconds', {})).toBeGreaterThanOrEqual(0);
  expect(sent).toContain('# TYPE nodejs_gc_duration_seconds histogram');
});
