import { freePort } from '../../src/dev/dev-server';
import { TelegramFake } from '../../src/sandbox/telegram';
import { matching, sample, sum } from '../helpers/prometheus';
import { connectTelegramChannel, eventually, request, Stack, stackWithFake } from '../helpers/stack';

/**
 * An operator sets API_METRICS_ADDRESS and scrapes the api: every request is counted by its
 * route's template and answer, every webhook by channel type and answer, with how long it took
 * and how long Temporal took to accept its signal; the process's own CPU, memory, event-loop lag
 * and GC; and the channels by status.
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
  // Refused by the API's authentication, before its route ran; a dashboard page; a path nobody serves.
  expect((await request(stack.url, 'GET', `/api/conversations/${convs[0].id}`)).status).toBe(401);
  expect((await request(stack.url, 'GET', `/inbox/${convs[0].id}`)).status).not.toBe(404);
  expect((await request(stack.url, 'GET', `/api/nothing-here/${convs[0].id}`, { token: apiKey })).status).toBe(404);

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

  // Every request, by the template of the route it went to: never a path with its ids in it.
  const webhookRoute = '/webhooks/telegram/:channelId';
  expect(sample(text, 'pingback_http_requests_total', { method: 'POST', route: webhookRoute, status: '200' })).toBe(2);
  expect(sample(text, 'pingback_http_requests_total', { method: 'POST', route: webhookRoute, status: '401' })).toBe(1);
  expect(sample(text, 'pingback_http_requests_total', { method: 'GET', route: webhookRoute, status: '405' })).toBe(1);
  expect(sample(text, 'pingback_http_requests_total', { method: 'POST', route: 'unmatched', status: '404' })).toBe(1);
  expect(sample(text, 'pingback_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
  expect(sample(text, 'pingback_http_requests_total', { method: 'POST', route: '/api/conversations/:id/messages', status: '202' })).toBe(1);
  expect(sample(text, 'pingback_http_requests_total', { method: 'GET', route: '/api/conversations/:id', status: '401' })).toBe(1);
  expect(sum(text, 'pingback_http_requests_total', { method: 'GET', route: '/api/conversations', status: '200' })).toBeGreaterThanOrEqual(1);
  expect(sum(text, 'pingback_http_requests_total', { method: 'GET', route: 'dashboard' })).toBe(1);
  expect(sample(text, 'pingback_http_request_duration_seconds_count', { method: 'POST', route: webhookRoute })).toBe(3);
  expect(sample(text, 'pingback_http_request_duration_seconds_bucket', { method: 'POST', route: webhookRoute, le: '+Inf' })).toBe(3);
  const routes = new Set(matching(text, 'pingback_http_requests_total').map((s) => s.labels.route));
  for (const route of routes) expect(route === 'unmatched' || route === 'dashboard' || route.startsWith('/')).toBe(true);
  for (const id of [channelId, convs[0].id, convs[1].id]) expect(text).not.toContain(id);

  // The process's own: CPU, memory, event-loop lag, GC.
  expect(sample(text, 'process_cpu_seconds_total', {})).toBeGreaterThan(0);
  expect(sample(text, 'process_resident_memory_bytes', {})).toBeGreaterThan(0);
  expect(sample(text, 'nodejs_heap_size_used_bytes', {})).toBeGreaterThan(0);
  expect(sample(text, 'nodejs_eventloop_lag_seconds', {})).toBeGreaterThanOrEqual(0);
  expect(text).toContain('# TYPE nodejs_gc_duration_seconds histogram');
  // The channels, counted from the database at the scrape (every test's: the database is shared).
  expect(sum(text, 'pingback_channels', { type: 'telegram' })).toBeGreaterThanOrEqual(1);
  expect(matching(text, 'pingback_channels').every((s) => Object.keys(s.labels).sort().join() === 'status,type')).toBe(true);
  expect(text).toContain('# TYPE pingback_stored_bytes gauge');

  const other = await fetch(stack.metricsUrl!.replace('/metrics', '/'));
  expect(other.status).toBe(404);
  expect(((await other.json()) as any).error.code).toBe('not_found');
});
