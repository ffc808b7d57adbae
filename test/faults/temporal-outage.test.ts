import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DevServer, freePort } from '../../src/dev/dev-server';
import { serverPort, startTemporal, temporalKindFromEnv } from '../../src/dev/temporal-server';
import { TelegramFake } from '../../src/sandbox/telegram';
import { connectTelegramChannel, eventually, Stack, startStack } from '../helpers/stack';

/**
 * The Temporal server goes away during an inbound burst and comes back. Every
 * webhook is either acknowledged and its message persisted, or refused with a 5xx
 * and persisted after the platform redelivers it; nothing is stored twice.
 */
let telegram: TelegramFake;
let stack: Stack;
let server: DevServer;
let port: number;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pingback-temporal-outage-'));
// The dev server by default; the full server on PostgreSQL with PINGBACK_TEST_TEMPORAL=server.
const start = () =>
  startTemporal({ kind: temporalKindFromEnv(), cli: process.env.TEMPORAL_CLI_PATH!, port, dbFile: path.join(dir, 'temporal.sqlite'), database: 'pingback_outage_temporal' });

beforeAll(async () => {
  port = temporalKindFromEnv() === 'server' ? await serverPort() : await freePort();
  server = await start();
  telegram = await TelegramFake.start({ allowHttpWebhooks: true });
  stack = await startStack({ TELEGRAM_API_BASE_URL: telegram.baseUrl, TEMPORAL_ADDRESS: server.address, TEMPORAL_SIGNAL_TIMEOUT_MS: '1000' });
});
afterAll(async () => {
  await stack?.stop();
  await server?.stop();
  await telegram?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('Temporal restarted mid-burst: every message persisted exactly once', async () => {
  const { token, channelId } = await connectTelegramChannel(stack);

  const chats = [770001, 770002, 770003, 770004];
  const total = 60;
  const statuses: number[] = [];
  let outage: Promise<void> | undefined;
  // Like Telegram: a refused update is delivered again until it is acknowledged.
  const deliver = async (chatId: number, text: string) => {
    let { status, update } = await telegram.customerSends(token, { chatId, firstName: 'Burst', text });
    statuses.push(status);
    while (status !== 200) {
      await new Promise((r) => setTimeout(r, 300));
      status = (await telegram.redeliver(token, update)).status;
      statuses.push(status);
    }
  };
  const senders = chats.map(async (chatId, c) => {
    for (let i = 0; i < total / chats.length; i++) {
      const n = i * chats.length + c;
      if (n === total / 3 && !outage) {
        outage = (async () => {
          await server.stop();
          await new Promise((r) => setTimeout(r, 3000));
          server = await start();
        })();
      }
      await deliver(chatId, `m${String(i).padStart(2, '0')}`);
    }
  });
  await Promise.all(senders);
  await outage;

  const rows = await eventually(async () => {
    const rs = await stack.db('messages as m')
      .join('conversations as c', 'c.id', 'm.conversation_id')
      .where({ 'c.channel_id': channelId, 'm.direction': 'inbound' })
      .select('c.thread_key', 'm.content', 'm.platform_message_id');
    return rs.length >= total ? rs : undefined;
  }, 120_000, 'every message persisted');
  expect(rows).toHaveLength(total);
  expect(new Set(rows.map((r) => `${r.thread_key}/${r.platform_message_id}`)).size).toBe(total);
  for (const chatId of chats) {
    expect(rows.filter((r) => r.thread_key === String(chatId)).map((r) => r.content).sort()).toEqual(
      Array.from({ length: total / chats.length }, (_, i) => `m${String(i).padStart(2, '0')}`),
    );
  }
  const refused = statuses.filter((s) => s !== 200);
  console.log(`temporal outage: ${total} messages, ${refused.length} deliveries refused (${[...new Set(refused)].join(', ')}) and redelivered`);
  expect(refused.length).toBeGreaterThan(0);
  expect(refused.every((s) => s >= 500)).toBe(true);
});
