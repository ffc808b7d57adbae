import type { ChildProcess } from 'node:child_process';
import EventSource from 'eventsource';
import { SECRET_HEADER } from '../../src/channels/telegram/webhook';
import { freePort } from '../../src/dev/dev-server';
import { EVENT_TYPES, inboxEventSchema, type InboxEvent } from '../../src/inbox/schemas';
import { TelegramFake } from '../../src/sandbox/telegram';
import { channelSecret, connectTelegramChannel, eventually, request, Stack, startStack } from '../helpers/stack';
import { kill9, spawnApi, spawnWorker } from '../helpers/worker-process';

/**
 * Past one machine: two api processes and two worker processes on one Temporal server and one
 * database. Customers write through both apis, agents reply through both, one worker is killed
 * mid-burst: every message is stored once, every reply is sent (and any second copy at Telegram
 * is one PingBack knew it might make), and events from either api reach a stream on the other.
 */
let telegram: TelegramFake;
let stack: Stack;
let apiB: ChildProcess;
let urlB: string;
const workers: ChildProcess[] = [];
let stream: EventSource | undefined;

beforeAll(async () => {
  telegram = await TelegramFake.start({ allowHttpWebhooks: true });
  // api A: the suite's, in this process; no worker in it.
  stack = await startStack({ TELEGRAM_API_BASE_URL: telegram.baseUrl }, { worker: false });
  const port = await freePort();
  urlB = `http://127.0.0.1:${port}`;
  apiB = await spawnApi(stack.config, { PORT: String(port) });
  workers.push(await spawnWorker(stack.config), await spawnWorker(stack.config));
});
afterAll(async () => {
  stream?.close();
  for (const p of [...workers, apiB]) if (p) await kill9(p);
  await stack?.stop();
  await telegram?.stop();
});

test('two apis, two workers, one killed mid-burst: each message stored once, each reply out, events cross apis', async () => {
  const { apiKey, token, channelId } = await connectTelegramChannel(stack);
  const secret = await channelSecret(stack, channelId);

  // A stream on api B, for everything that happens through api A as well.
  const events: InboxEvent[] = [];
  stream = new EventSource(`${urlB}/api/events`, { headers: { authorization: `Bearer ${apiKey}` } });
  for (const type of EVENT_TYPES) stream.addEventListener(type, (m) => void events.push(inboxEventSchema.parse(JSON.parse((m as MessageEvent).data))));
  await new Promise<void>((resolve) => (stream!.onopen = () => resolve()));

  // Customers: even messages through api A (Telegram delivers to the channel's URL), odd ones posted to api B as Telegram would.
  const chats = Array.from({ length: 6 }, (_, i) => 770100 + i);
  let updateId = 900_000;
  const sentIn: string[] = [];
  for (let n = 0; n < 4; n++) {
    for (const chat of chats) {
      const text = `m${n} from ${chat}`;
      sentIn.push(text);
      if (n % 2 === 0) expect((await telegram.customerSends(token, { chatId: chat, firstName: `C${chat}`, text })).status).toBe(200);
      else {
        const update = { update_id: ++updateId, message: { message_id: 10_000 + n, from: { id: chat, is_bot: false, first_name: `C${chat}` }, chat: { id: chat, first_name: `C${chat}`, type: 'private' }, date: Math.floor(Date.now() / 1000), text } };
        const r = await fetch(`${urlB}/webhooks/telegram/${channelId}`, { method: 'POST', headers: { 'content-type': 'application/json', [SECRET_HEADER]: secret }, body: JSON.stringify(update) });
        expect(r.status).toBe(200);
      }
    }
  }
  const convs = await eventually(async () => {
    const r = await request(urlB, 'GET', '/api/conversations?limit=50', { token: apiKey });
    return r.body.data?.length === chats.length ? r.body.data : undefined;
  }, 60_000, 'a conversation per chat');

  // Agents reply through both apis; one worker dies while the replies go out.
  telegram.setLatency(150);
  const replies: Array<{ id: string; text: string }> = [];
  for (let n = 0; n < 3; n++) {
    for (const [i, c] of convs.entries()) {
      const text = `reply ${n} to ${c.contact.platform_user_id}`;
      const r = await request((i + n) % 2 ? urlB : stack.url, 'POST', `/api/conversations/${c.id}/messages`, { token: apiKey, json: { content: text } });
      expect(r.status).toBe(202);
      replies.push({ id: r.body.id, text });
    }
    if (n === 0) {
      await eventually(async () => telegram.sentMessages(token).length >= 2, 30_000, 'some replies out');
      await kill9(workers[0]);
    }
  }
  const rows = await eventually(async () => {
    const rs = await stack.db('messages').whereIn('id', replies.map((r) => r.id));
    return rs.every((m) => m.status === 'sent') ? rs : undefined;
  }, 120_000, 'every reply sent by the surviving worker');
  telegram.setLatency(0);

  // Each customer message stored once, in its conversation.
  const inbound = await stack.db('messages as m').join('conversations as c', 'c.id', 'm.conversation_id').where({ 'c.channel_id': channelId, 'm.direction': 'inbound' }).select('m.content');
  expect(inbound.map((m) => m.content).sort()).toEqual([...sentIn].sort());

  // Each reply at Telegram; a second copy only where PingBack counted the send as uncertain.
  const delivered = telegram.sentMessages(token);
  for (const r of replies) expect(delivered.filter((d) => d.text === r.text).length).toBeGreaterThanOrEqual(1);
  const uncertain = rows.reduce((n, m) => n + Number(m.metadata?.uncertain_sends ?? 0), 0);
  expect(delivered.length - replies.length).toBeLessThanOrEqual(uncertain);
  console.log(`two of each: ${sentIn.length} messages, ${replies.length} replies, ${delivered.length - replies.length} delivered twice, ${uncertain} uncertain`);

  // Events on api B's stream for what came through api A and for replies written through api A.
  const createdIds = new Set(events.filter((e) => e.type === 'message.created').map((e) => (e.data as { id: string }).id));
  await eventually(async () => {
    const ids = new Set(events.filter((e) => e.type === 'message.created').map((e) => (e.data as { id: string }).id));
    for (const id of ids) createdIds.add(id);
    return replies.every((r) => createdIds.has(r.id)) ? true : undefined;
  }, 30_000, 'every reply seen on api B');
  const inboundIds = await stack.db('messages as m').join('conversations as c', 'c.id', 'm.conversation_id').where({ 'c.channel_id': channelId, 'm.direction': 'inbound' }).pluck('m.id');
  expect(inboundIds.filter((id: string) => !createdIds.has(id))).toEqual([]);
});
