/**
 * src/inbound/deliver.ts against the real PostgreSQL, with a signaller that fails as Temporal
 * does: an event Temporal refuses for what it is (INVALID_ARGUMENT: a payload too large) is set
 * aside and the rest go on; an outage is thrown, for the platform or the poller to try again.
 */
import { randomUUID } from 'node:crypto';
import type { InboundMessage } from '../../src/channels/types';
import { createAccount } from '../../src/db/accounts';
import { insertChannel } from '../../src/db/channels';
import { createDb, Db } from '../../src/db/knex';
import { AppError } from '../../src/errors';
import { deliverEvents } from '../../src/inbound/deliver';
import { ignoredEventsSweep } from '../../src/db/ignored-events';
import type { ConversationSignaller } from '../../src/temporal/conversations';

let db: Db;
beforeAll(() => (db = createDb(process.env.TEST_DATABASE_URL!, { max: 2 })));
afterAll(() => db.destroy());

const message = (id: string): InboundMessage => ({
  platformMessageId: id,
  threadKey: 'chat-1',
  contact: { platformUserId: 'user-1' },
  content: `text ${id}`,
  contentType: 'text',
  attachments: [],
  metadata: {},
});

/** Fails as the real signaller does: Temporal's own error wrapped in a 503. */
function signallerFailing(failures: Record<string, unknown>): ConversationSignaller & { signalled: string[] } {
  const signalled: string[] = [];
  return {
    signalled,
    async inbound(_ref, m) {
      const cause = failures[m.platformMessageId];
      if (cause) throw new AppError(503, 'temporal_unavailable', 'the workflow service did not accept the message; retry later', undefined, cause);
      signalled.push(m.platformMessageId);
    },
    reply: async () => undefined,
    retryReply: async () => ({ queued: false, status: 'failed' }),
    status: async () => undefined,
    messageStatus: async () => 'signalled',
  };
}

async function channel() {
  const { account } = await createAccount(db, { name: 'deliver', plan: 'pro' });
  return insertChannel(db, { id: randomUUID(), webhookSecret: 's', verifyToken: 'v', accountId: account.id, type: 'telegram', name: 'bot', config: {}, status: 'connected', statusMessage: null });
}

test('an event Temporal refuses for what it is, is set aside with the reason; the events after it are delivered', async () => {
  const ch = await channel();
  const tooLarge = Object.assign(new Error('Blob data size exceeds limit.'), { code: 3 });
  const signaller = signallerFailing({ m1: { name: 'ServiceError', message: 'failed to signalWithStart', cause: tooLarge } });
  const events = ['m1', 'm2'].map((id) => ({ kind: 'message' as const, message: message(id) }));
  const outcome = await deliverEvents({ db, signaller }, ch, events);
  expect(outcome).toMatchObject({ messages: 1, ignored: ['unprocessable'] });
  expect(signaller.signalled).toEqual(['m2']);
  expect(await db('ignored_events').where({ channel_id: ch.id }).select('reason', 'platform_event_id', 'payload')).toEqual([
    { reason: 'unprocessable', platform_event_id: 'm1', payload: { problem: 'Temporal refused it: Blob data size exceeds limit.', event: expect.objectContaining({ platformMessageId: 'm1' }) } },
  ]);
});

test('an outage is thrown, and so is what Temporal refuses for reasons that are not the event (a run full of signals): nothing is set aside', async () => {
  const ch = await channel();
  const down = Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14 });
  const full = Object.assign(new Error('3 INVALID_ARGUMENT: exceeded workflow execution limit for signal events'), { code: 3 });
  const signaller = signallerFailing({ m1: down, m2: full });
  for (const id of ['m1', 'm2']) {
    await expect(deliverEvents({ db, signaller }, ch, [{ kind: 'message', message: message(id) }])).rejects.toMatchObject({ code: 'temporal_unavailable' });
  }
  expect(await db('ignored_events').where({ channel_id: ch.id })).toEqual([]);
});

test('a delivery of many threads is signalled a few threads at a time, each thread in order', async () => {
  const ch = await channel();
  let inFlight = 0;
  let most = 0;
  const order: string[] = [];
  const signaller = {
    ...signallerFailing({}),
    async inbound(_ref: unknown, m: InboundMessage) {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      order.push(m.platformMessageId);
      inFlight--;
    },
  };
  const events = Array.from({ length: 60 }, (_, i) => ({ kind: 'message' as const, message: { ...message(`t${i % 30}-${i < 30 ? 'a' : 'b'}`), threadKey: `t${i % 30}` } }));
  expect(await deliverEvents({ db, signaller }, ch, events)).toMatchObject({ messages: 60 });
  expect(most).toBe(8);
  for (let t = 0; t < 30; t++) expect(order.indexOf(`t${t}-a`)).toBeLessThan(order.indexOf(`t${t}-b`));
});

test('ignored events are kept IGNORED_EVENTS_RETENTION_DAYS, then swept', async () => {
  const ch = await channel();
  await db('ignored_events').insert([
    { channel_id: ch.id, reason: 'channel_inactive', platform_event_id: 'old', payload: '{}', created_at: db.raw("now() - interval '31 days'") },
    { channel_id: ch.id, reason: 'channel_inactive', platform_event_id: 'recent', payload: '{}', created_at: db.raw("now() - interval '29 days'") },
  ]);
  const sweep = ignoredEventsSweep(30);
  let deleted = 0;
  while ((await sweep.sweep(db, 1)) > 0) deleted++;
  expect(deleted).toBeGreaterThanOrEqual(1);
  expect(await db('ignored_events').where({ channel_id: ch.id }).pluck('platform_event_id')).toEqual(['recent']);
});

test("files that arrive with mail are kept within a sender's and a channel's daily allowance; past it the message still goes in, saying its files were not kept", async () => {
  const ch = await channel();
  const signaller = signallerFailing({});
  const delivered: InboundMessage[] = [];
  signaller.inbound = async (_ref, m) => void delivered.push(m);
  const limits = { perSenderPerDay: 1000, perChannelPerDay: 1500 };
  const mail = (id: string, from: string, size: number) => ({
    kind: 'message' as const,
    message: { ...message(id), contact: { platformUserId: from }, attachments: [{ type: 'document', fileName: `${id}.pdf` }] },
    files: [{ content: Buffer.alloc(size, 1), contentType: 'application/pdf', fileName: `${id}.pdf` }],
  });
  const send = (ev: ReturnType<typeof mail>) => deliverEvents({ db, signaller }, ch, [ev], { fileLimits: limits });

  await send(mail('a1', 'ann@x.test', 600));
  await send(mail('a2', 'ann@x.test', 600)); // Ann's day: 1200 > 1000
  await send(mail('b1', 'bo@x.test', 600));
  await send(mail('c1', 'cy@x.test', 600)); // the channel's day: 1800 > 1500
  await send(mail('a1', 'ann@x.test', 600)); // a redelivery of kept files is never refused
  expect(delivered.map((m) => [m.platformMessageId, m.attachments[0].storedMediaId ? 'kept' : m.attachments[0].dropped])).toEqual([
    ['a1', 'kept'],
    ['a2', 'sender_daily_limit'],
    ['b1', 'kept'],
    ['c1', 'channel_daily_limit'],
    ['a1', 'kept'],
  ]);
  expect(delivered[1].metadata).toMatchObject({ files_dropped: 'sender_daily_limit' });
  expect(delivered[4].attachments[0].storedMediaId).toBe(delivered[0].attachments[0].storedMediaId);
  expect(await db('stored_media').where({ channel_id: ch.id }).count({ n: '*' })).toEqual([{ n: '2' }]);
});
