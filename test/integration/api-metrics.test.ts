import { freePort } from '../../src/dev/dev-server';
import { TelegramFake } from '../../src/sandbox/telegram';
import { sample } from '../helpers/prometheus';
import { connectTelegramChannel, eventually, request, Stack, stackWithFake } from '../helpers/stack';

/**
 * An operator sets API_METRICS_ADDRESS and scrapes the api: every webhook is counted by channel
 * type and answer, with how long it took and how long Temporal took to accept its signal.
 */
let stack: Stack;
let telegram: TelegramFake;
let metricsAddress: string;
// Before the stack's own set-up, which reads the address.
beforeAll(async () => {
  metricsAddress = `127.0.0.1:${await freePort()}`;
});
stackWithFake(
  () => TelegramFake.start({ allowHttpWebhooks: true }),
  (fake) => ({ TELEGRAM_API_BASE_URL: fake.baseUrl, API_METRICS_ADDRESS: metricsAddress }),
  (s, f) => ((stack = s), (telegram = f)),
);

test('webhooks and the signals they became are counted and timed at API_METRICS_ADDRESS', async () => {
  expect(stack.metricsUrl).toBe(`http://${metricsAddress}/metrics`);
  const { apiKey, token, channelId } = await connectTelegramChannel(stack);

  // Two messages from customers, one forged request, one to a path no platform uses.
  expect((await telegram.customerSends(token, { chatId: 880001, firstName: 'Ada', text: 'first' })).status).toBe(200);
  expect((await telegram.customerSends(token, { chatId: 880002, firstName: 'Bo', text: 'second' })).status).toBe(200);
  const forged = await request(stack.url, 'POST', `/webhooks/telegram/${channelId}`, { json: { update_id: 1 }, headers: { 'x-telegram-bot-api-secret-token': 'wrong' } });
  expect(forged.status).toBe(401);
  expect((await request(stack.url, 'POST', '/webhooks/gopher/abc', { json: {} })).status).toBe(404);
  // Telegram makes no handshake: a GET is refused, and counted as a GET.
  const get = await request(stack.url, 'GET', `/webhooks/telegram/${channelId}`);
  expect(get.status).toBe(405);
  expect(get.body.error).toEqual({ code: 'method_not_allowed', message: `GET is not allowed on /webhooks/telegram/${channelId}; allowed: POST` });
  // An agent's reply is a signal too.
  const convs = await eventually(async () => {
    const r = await request(stack.url, 'GET', '/api/conversations', { token: apiKey });
    return r.body.data.length === 2 ? r.body.data : undefined;
  });
  expect((await request(stack.url, 'POST', `/api/conversations/${convs[0].id}/messages`, { token: apiKey, json: { content: 'hello' } })).status).toBe(202);

  const res = await fetch(stack.metricsUrl!);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  expect(sample(text, 'pingback_webhook_requests_total', { channel_type: 'telegram', method: 'POST', status: '200' })).toBe(2);
  expect(sample(text, 'pingback_webhook_requests_total', { channel_type: 'telegram', method: 'POST', status: '401' })).toBe(1);
  expect(sample(text, 'pingback_webhook_requests_total', { channel_type: 'unknown', method: 'POST', status: '404' })).toBe(1);
  expect(sample(text, 'pingback_webhook_requests_total', { channel_type: 'telegram', method: 'GET', status: '405' })).toBe(1);
  expect(sample(text, 'pingback_webhook_duration_seconds_count', { channel_type: 'telegram' })).toBe(4);
  const inbound = { kind: 'inbound', outcome: 'ok' };
  expect(sample(text, 'pingback_temporal_signal_duration_seconds_count', inbound)).toBe(2);
  expect(sample(text, 'pingback_temporal_signal_duration_seconds_bucket', { ...inbound, le: '+Inf' })).toBe(2);
  // Temporal's share of a webhook's time is part of it: both sums are real durations, the signals' the smaller.
  const signalSeconds = sample(text, 'pingback_temporal_signal_duration_seconds_sum', inbound)!;
  expect(signalSeconds).toBeGreaterThan(0);
  expect(signalSeconds).toBeLessThan(sample(text, 'pingback_webhook_duration_seconds_sum', { channel_type: 'telegram' })!);
  expect(sample(text, 'pingback_temporal_signal_duration_seconds_count', { kind: 'reply', outcome: 'ok' })).toBe(1);

  const other = await fetch(stack.metricsUrl!.replace('/metrics', '/'));
  expect(other.status).toBe(404);
  expect(((await other.json()) as any).error.code).toBe('not_found');
});
