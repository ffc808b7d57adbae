import { TelegramFake } from '../../src/sandbox/telegram';
import { connectTelegramChannel, eventually, request, Stack, startStack } from '../helpers/stack';
import { TcpProxy } from '../helpers/tcp-proxy';

/**
 * PostgreSQL becomes unreachable for a while. Webhooks keep being acknowledged
 * once Temporal holds them, persisting activities retry, the API answers 503
 * meanwhile, and everything recovers by itself when the database is back.
 */
let telegram: TelegramFake;
let stack: Stack;
let proxy: TcpProxy;

beforeAll(async () => {
  const pg = new URL(process.env.TEST_DATABASE_URL!);
  proxy = await TcpProxy.start({ host: pg.hostname, port: Number(pg.port || 5432) });
  pg.host = `127.0.0.1:${proxy.port}`;
  telegram = await TelegramFake.start({ allowHttpWebhooks: true });
  stack = await startStack({ TELEGRAM_API_BASE_URL: telegram.baseUrl, DATABASE_URL: pg.toString() });
});
afterAll(async () => {
  await proxy?.restore();
  await stack?.stop();
  await telegram?.stop();
  await proxy?.cut();
});

test('database outage: messages wait in Temporal, the API says 503, all recovers', async () => {
  const { apiKey, token } = await connectTelegramChannel(stack);
  expect((await telegram.customerSends(token, { chatId: 660001, firstName: 'Pre', text: 'before' })).status).toBe(200);
  const conv = await eventually(async () => (await request(stack.url, 'GET', '/api/conversations', { token: apiKey })).body.data?.[0]);

  await proxy.cut();
  const during = [];
  for (let i = 0; i < 5; i++) during.push(await telegram.customerSends(token, { chatId: 660001, firstName: 'Pre', text: `during ${i}` }));
  // Acknowledged: Temporal holds them even though nothing can be written yet.
  expect(during.map((d) => d.status)).toEqual([200, 200, 200, 200, 200]);
  const api = await request(stack.url, 'GET', `/api/conversations/${conv.id}/messages`, { token: apiKey });
  expect(api.status).toBe(503);
  expect(api.body.error.code).toBe('database_unavailable');
  expect((await request(stack.url, 'GET', '/healthz')).status).toBe(503);
  // Still ready: webhooks are acknowledged meanwhile, so the api must stay in rotation.
  expect(await request(stack.url, 'GET', '/readyz')).toMatchObject({ status: 200, body: { status: 'ready', checks: { postgres: { ok: false } } } });

  await new Promise((r) => setTimeout(r, 2000));
  await proxy.restore();

  const msgs = await eventually(async () => {
    const r = await request(stack.url, 'GET', `/api/conversations/${conv.id}/messages`, { token: apiKey });
    return r.status === 200 && r.body.data.length === 6 ? r.body.data : undefined;
  }, 90_000, 'messages persisted after the outage');
  expect(msgs.map((m: any) => m.content)).toEqual(['before', 'during 0', 'during 1', 'during 2', 'during 3', 'during 4']);
  expect((await request(stack.url, 'GET', '/healthz')).status).toBe(200);
});

test('an outage right after Telegram took a reply: the reply is recorded sent once the database is back, and Telegram has it once', async () => {
  const { apiKey, token } = await connectTelegramChannel(stack);
  expect((await telegram.customerSends(token, { chatId: 660002, firstName: 'Ida', text: 'where is it?' })).status).toBe(200);
  const conv = await eventually(async () => (await request(stack.url, 'GET', '/api/conversations', { token: apiKey })).body.data?.[0]);
  // The database goes away between Telegram taking the message and PingBack writing that down.
  let cut = false;
  telegram.onNextAnswer('sendMessage', async () => {
    await proxy.cut();
    cut = true;
  });
  const reply = await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: 'on its way' } });
  expect(reply.status).toBe(202);
  await eventually(async () => cut, 30_000, 'the cut at the send');
  // Longer than the attempt's own few tries at writing: the workflow takes the fact over.
  await new Promise((r) => setTimeout(r, 6000));
  await proxy.restore();

  const sent = await eventually(async () => {
    const r = await request(stack.url, 'GET', `/api/conversations/${conv.id}/messages`, { token: apiKey });
    return r.status === 200 ? r.body.data.find((m: any) => m.id === reply.body.id && m.status === 'sent') : undefined;
  }, 90_000, 'the reply recorded sent');
  const out = telegram.sentMessages(token).filter((m) => m.text === 'on its way');
  expect(out).toHaveLength(1);
  expect(sent.platform_message_id).toBe(String(out[0].message_id));
  // Recorded by the workflow from its history (recordSent), not by sending again.
  const row = await stack.db('conversations').where({ id: conv.id }).first('workflow_id');
  const history = await stack.temporal.workflow.getHandle(row.workflow_id).fetchHistory();
  const scheduled = (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : []));
  expect(scheduled.filter((n) => n === 'sendOutbound')).toHaveLength(1);
  expect(scheduled).toContain('recordSent');
  expect(telegram.calls('sendMessage').filter((c) => c.params.text === 'on its way')).toHaveLength(1);
});
