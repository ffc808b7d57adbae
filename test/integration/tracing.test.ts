import { TelegramFake } from '../../src/sandbox/telegram';
import { connectTelegramChannel, eventually, request, Stack, startStack } from '../helpers/stack';
import { OtlpReceiver, ReceivedSpan, startOtlpReceiver, tracedWorkflowBundle } from '../helpers/tracing';

/**
 * Traces, end to end: the api and the worker (the workflow bundle with the tracing interceptors)
 * with OTEL_EXPORTER_OTLP_ENDPOINT pointed at a stand-in collector, Telegram's fake as the
 * platform. A customer's message is one trace from the webhook to its persisting; an agent's
 * reply one trace from the request to each call to Telegram, every attempt a span of its own.
 */
let receiver: OtlpReceiver;
let telegram: TelegramFake;
let stack: Stack;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  telegram = await TelegramFake.start({ allowHttpWebhooks: true });
  const workflowBundle = await tracedWorkflowBundle();
  stack = await startStack({ TELEGRAM_API_BASE_URL: telegram.baseUrl, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, { workflowBundle });
});
afterAll(async () => {
  await stack?.stop();
  await telegram?.stop();
  await receiver?.stop();
});

const inTrace = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);
const childrenOf = (span: ReceivedSpan) => receiver.spans.filter((s) => s.parentSpanId === span.spanId && s.traceId === span.traceId);
const named = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);
/** Spans arrive in batches (the batch processor's, and the workflows' through the sink): waits until `pick` finds what it needs. */
const spansFor = <T>(what: string, pick: () => T | undefined | false) => eventually(async () => pick(), 30_000, what);

test("a customer's message: one trace from the webhook through signal-with-start, the workflow's signal and the persisting", async () => {
  const { apiKey, token, channelId } = await connectTelegramChannel(stack);
  const sent = await telegram.customerSends(token, { chatId: 7100001, firstName: 'Tia', text: 'traced hello' });
  expect(sent.status).toBe(200);
  await eventually(async () => (await request(stack.url, 'GET', '/api/conversations?channel_type=telegram', { token: apiKey })).body.data.length === 1, 30_000, 'the conversation');

  const webhook = await spansFor('the webhook request span', () =>
    receiver.spans.find((s) => s.name === 'POST /webhooks/telegram/:channelId' && s.attributes['http.response.status_code'] === 200),
  );
  expect(webhook.kind).toBe(2); // SERVER
  expect(webhook.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/webhooks/telegram/:channelId' });
  // The route's template, never the path: no channel id, no platform secret in the span.
  expect(JSON.stringify(webhook)).not.toContain(channelId);

  const trace = await spansFor('the persist activity in the webhook trace', () => {
    const spans = inTrace(webhook.traceId);
    return named(spans, 'RunActivity:persistInbound').length ? spans : undefined;
  });
  const [signalWithStart] = named(trace, 'SignalWithStartWorkflow:conversationWorkflow');
  expect(signalWithStart.parentSpanId).toBe(webhook.spanId);
  // The workflow's side, out of its sandbox through the worker's sink: the signal handled, the workflow run started by it.
  const [handled] = named(trace, 'HandleSignal:inbound');
  expect(handled.parentSpanId).toBe(signalWithStart.spanId);
  const [scheduled] = named(trace, 'StartActivity:persistInbound');
  expect(scheduled.parentSpanId).toBe(handled.spanId);
  const [persisted] = named(trace, 'RunActivity:persistInbound');
  expect(persisted.parentSpanId).toBe(scheduled.spanId);
  expect(persisted.attributes.temporalWorkflowId).toEqual(signalWithStart.attributes.temporalWorkflowId);
  expect(new Set(trace.map((s) => s.service))).toEqual(new Set(['pingback-api']));
  // Only what the trace is about: the channel's own set-up is a trace of its own.
  expect(trace.some((s) => s.name.includes('channelSetup'))).toBe(false);
  expect(receiver.posts.every((p) => p === '/v1/traces')).toBe(true);
});

test("an agent's reply, Telegram failing once: one trace from the request to both calls, each attempt its own span", async () => {
  const { apiKey, token } = await connectTelegramChannel(stack);
  await telegram.customerSends(token, { chatId: 7100002, firstName: 'Ugo', text: 'hi' });
  const conv = await eventually(async () => (await request(stack.url, 'GET', '/api/conversations?channel_type=telegram', { token: apiKey })).body.data.find((c: any) => c.contact.platform_user_id === '7100002'), 30_000, 'the conversation');
  telegram.failNext('sendMessage', { kind: 'server_error' });
  const reply = await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: 'traced reply' } });
  expect(reply.status).toBe(202);
  await eventually(async () => {
    const r = await request(stack.url, 'GET', `/api/conversations/${conv.id}/messages`, { token: apiKey });
    return (r.body.data as any[]).find((m) => m.id === reply.body.id)?.status === 'sent';
  }, 60_000, 'the reply sent');
  expect(telegram.calls('sendMessage').filter((c) => c.token === token).map((c) => c.status)).toEqual([502, 200]);

  const request_ = await spansFor('the reply request span', () => receiver.spans.find((s) => s.name === 'POST /api/conversations/:id/messages' && s.attributes['http.response.status_code'] === 202));
  const trace = await spansFor('both send attempts and their platform calls in the reply trace', () => {
    const spans = inTrace(request_.traceId);
    const attempts = named(spans, 'RunActivity:sendOutbound');
    return attempts.length === 2 && attempts.every((a) => childrenOf(a).some((c) => c.name === 'platform.request')) ? spans : undefined;
  });
  const [signalWithStart] = named(trace, 'SignalWithStartWorkflow:conversationWorkflow');
  expect(signalWithStart.parentSpanId).toBe(request_.spanId);
  const [handled] = named(trace, 'HandleSignal:reply');
  expect(handled.parentSpanId).toBe(signalWithStart.spanId);
  // Scheduled from the workflow's send loop, in the trace of the signal that queued the reply.
  const [scheduled] = named(trace, 'StartActivity:sendOutbound');
  expect(scheduled.parentSpanId).toBe(handled.spanId);
  const attempts = named(trace, 'RunActivity:sendOutbound');
  expect(attempts.map((a) => a.parentSpanId)).toEqual([scheduled.spanId, scheduled.spanId]);
  expect(new Set(attempts.map((a) => a.spanId)).size).toBe(2);

  const calls = attempts
    .map((a) => childrenOf(a).filter((c) => c.name === 'platform.request'))
    .sort((a, b) => Number(a[0].attributes['http.response.status_code']) - Number(b[0].attributes['http.response.status_code']));
  const statuses = calls.map((c) => c.map((s) => s.attributes['http.response.status_code']));
  expect(statuses).toEqual([[200], [502]]);
  for (const [call] of calls) {
    expect(call.kind).toBe(3); // CLIENT
    expect(call.attributes).toMatchObject({ 'pingback.platform': 'Telegram Bot API', 'http.request.method': 'POST' });
  }
  expect(calls[1][0].status.code).toBe(2); // ERROR: the 502
  // Never the URL: Telegram's holds the bot token.
  expect(JSON.stringify(receiver.spans)).not.toContain(token);
  expect(JSON.stringify(receiver.spans)).not.toContain(token.split(':')[1]);
});
