import { randomBytes, randomUUID } from 'node:crypto';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { PollChannelInput, PollChannelResult } from '../../activities/poller';
import { channelPollerWorkflow, pollerStateQuery } from '../../workflows/channel-poller';
import { XFake } from '../../src/sandbox/x';
import { secretBoxFrom } from '../../src/config';
import { reconcilePollers } from '../../src/temporal/pollers';
import { dataConverterFor, PayloadEncryptionCodec } from '../../src/temporal/payload-codec';
import { eventually, Stack, stackWithFake } from '../helpers/stack';
import { xTestKit } from '../helpers/x';

/**
 * Inbound X DMs by polling, from outside: the X API fake holds the DMs (checking every
 * OAuth 1.0a signature and keeping rate-limit windows), PingBack polls it every second
 * on the real stack. What a user sees: every DM once, in order, whatever happens.
 */
let x: XFake;
let stack: Stack;
const kit = xTestKit(() => ({ stack, x }));
const { api, customer, channelStatus, xChannel, conversationWith, inboundTexts, afterPolls, storedInbound } = kit;

stackWithFake(() => XFake.start(), (fake) => ({ X_API_BASE_URL: fake.baseUrl }), (s, fake) => {
  stack = s;
  x = fake;
});
afterEach(() => x.setPageSize(100));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const poller = (channelId: string) => stack.temporal.workflow.getHandle(`x-poller/${channelId}`);
/** Queued in one synchronous run, so no poll can fall between them: they arrive as one backlog. */
const queue = (accountId: string, from: { id: string; name: string; username: string }, texts: string[]) =>
  Promise.all(texts.map((text) => x.customerSends(accountId, { from, text })));

test('connecting checks the credentials with /2/users/me and starts one poller; secrets never shown', async () => {
  const { channel, acct } = await xChannel();
  expect(channel.status_message).toBe(`connected as @${acct.username}; polling for new messages`);
  expect(x.calls('users_me', acct.id).map((c) => [c.status, c.auth])).toEqual([[200, 'oauth1']]);
  // The status is written just before the setup activity starts the poller.
  await eventually(async () => (await poller(channel.id).describe()).status.name === 'RUNNING', 30_000, 'poller running');
  await afterPolls(acct.id, 1);
  const everything = JSON.stringify(channel) + stack.log.lines.join('\n');
  for (const secret of Object.values(acct.credentials)) expect(everything).not.toContain(secret);
});

test('polling picks up DMs in order across pages, each sender in their own conversation', async () => {
  const { apiKey, acct } = await xChannel();
  const ada = customer('Ada');
  const bo = customer('Bo');
  x.setPageSize(2);
  await queue(acct.id, ada, ['ada 1', 'ada 2']);
  await queue(acct.id, bo, ['bo 1']);
  await queue(acct.id, ada, ['ada 3', 'ada 4', 'ada 5']);
  await queue(acct.id, bo, ['bo 2', 'bo 3']);
  expect(await inboundTexts(apiKey, ada.id, 5)).toEqual(['ada 1', 'ada 2', 'ada 3', 'ada 4', 'ada 5']);
  expect(await inboundTexts(apiKey, bo.id, 3)).toEqual(['bo 1', 'bo 2', 'bo 3']);
  expect((await conversationWith(apiKey, ada.id)).contact).toMatchObject({ name: 'Ada', username: ada.username });
  const calls = x.calls('dm_events', acct.id);
  expect(calls.some((c) => c.query.pagination_token)).toBe(true);
  expect(calls[0].query).toMatchObject({ expansions: expect.stringContaining('sender_id'), 'user.fields': 'name,username' });
});

test('a polled DM with media keeps it as an attachment', async () => {
  const { apiKey, acct } = await xChannel();
  const ada = customer('Ada');
  const { event } = await x.customerSends(acct.id, { from: ada, text: 'this one', media: true });
  await inboundTexts(apiKey, ada.id, 1);
  const [msg] = await kit.messagesOf(apiKey, (await conversationWith(apiKey, ada.id)).id);
  expect(msg).toMatchObject({ content_type: 'image', content: `this one ${event.media!.url}` });
  expect(msg.attachments).toEqual([{ type: 'image', platformFileId: event.media!.id, url: event.media!.url }]);
});

test('a worker restart mid-poll loses and repeats nothing', async () => {
  const { apiKey, acct, channel } = await xChannel();
  const ada = customer('Ada');
  x.setPageSize(2);
  // The second page of the next poll hangs long enough to stop the worker under it.
  x.delayNext('dm_events', 5000, (q, account) => account === acct.id && q.pagination_token !== undefined);
  await queue(acct.id, ada, ['one', 'two', 'three', 'four', 'five']);
  await eventually(async () => x.calls('dm_events', acct.id).some((c) => c.query.pagination_token), 30_000, 'a paged poll');
  await stack.stopWorker();
  await stack.startWorker();
  expect(await inboundTexts(apiKey, ada.id, 5)).toEqual(['one', 'two', 'three', 'four', 'five']);
  // The walk was cut under the first worker and done again by the second.
  expect(x.calls('dm_events', acct.id).filter((c) => c.query.pagination_token).length).toBeGreaterThanOrEqual(2);
  await queue(acct.id, ada, ['six']);
  expect(await inboundTexts(apiKey, ada.id, 6)).toEqual(['one', 'two', 'three', 'four', 'five', 'six']);
  await afterPolls(acct.id);
  const stored = await storedInbound(channel.id);
  expect(stored.map((m: any) => m.content)).toEqual(['one', 'two', 'three', 'four', 'five', 'six']);
  expect(new Set(stored.map((m: any) => m.platform_message_id)).size).toBe(6);
});

test("rate-limit window spent: the poller sleeps until x-rate-limit-reset, never asking early, and goes on where it was", async () => {
  const acct = x.createAccount();
  x.setRateLimit('dm_events', 2, 3, acct.id); // two requests per 3-second window
  const { apiKey } = await xChannel({ account: acct });
  const ada = customer('Ada');
  x.setPageSize(2);
  const texts = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
  await queue(acct.id, ada, texts); // three pages: one poll's walk must cross a window
  expect(await inboundTexts(apiKey, ada.id, 6)).toEqual(texts);
  const calls = x.calls('dm_events', acct.id);
  expect(calls.map((c) => c.status).filter((s) => s !== 200)).toEqual([]); // never a 429: it waited
  expect(calls.some((c) => c.remaining === 0)).toBe(true);
  calls.forEach((c, i) => {
    if (i > 0 && calls[i - 1].remaining === 0) expect(c.at).toBeGreaterThanOrEqual(calls[i - 1].resetAtMs!);
  });
  // The walk back to the cursor resumed with X's pagination_token after the reset.
  expect(calls.some((c, i) => i > 0 && calls[i - 1].remaining === 0 && c.query.pagination_token)).toBe(true);
});

test("401 while polling: the channel shows X's words, polling pauses, new credentials resume it and nothing is missed", async () => {
  const { apiKey, acct, channel } = await xChannel();
  await afterPolls(acct.id, 1);
  x.revoke(acct.id);
  const errored = await channelStatus(apiKey, channel.id, 'reconnect_required');
  expect(errored.status_message).toBe("polling X failed: Unauthorized; update the channel's credentials");
  expect(await poller(channel.id).query(pollerStateQuery)).toMatchObject({ state: 'paused', pausedFor: 'Unauthorized' });
  const asked = x.calls('dm_events', acct.id).length;
  const ada = customer('Ada');
  await x.customerSends(acct.id, { from: ada, text: 'while you were away' });
  await sleep(2500);
  expect(x.calls('dm_events', acct.id)).toHaveLength(asked); // paused: X is not asked again with the dead credentials

  const fresh = x.rotateCredentials(acct.id);
  const patched = await api(apiKey).patch(`/api/channels/${channel.id}`, {
    config: { access_token: fresh.access_token, access_token_secret: fresh.access_token_secret },
  });
  expect(patched.status).toBe(200);
  await channelStatus(apiKey, channel.id, 'connected');
  expect(await inboundTexts(apiKey, ada.id, 1)).toEqual(['while you were away']);
});

test('bad credentials at connect: 401 from /2/users/me puts the channel in error and starts no poller', async () => {
  const acct = x.createAccount();
  const wrong = { ...acct, credentials: { ...acct.credentials, api_secret: 'not-the-consumer-secret' } };
  const { channel } = await xChannel({ account: wrong, expect: 'error' });
  expect(channel.status_message).toBe('Unauthorized');
  expect(x.calls('users_me', acct.id)).toEqual([]); // a bad signature is nobody's call
  await expect(poller(channel.id).describe()).rejects.toThrow(/not found/i);
});

test('deactivating ends the poller; reactivating resumes from the cursor without repeating', async () => {
  const { apiKey, acct, channel } = await xChannel();
  const ada = customer('Ada');
  await x.customerSends(acct.id, { from: ada, text: 'before' });
  expect(await inboundTexts(apiKey, ada.id, 1)).toEqual(['before']);

  expect((await api(apiKey).patch(`/api/channels/${channel.id}`, { is_active: false })).status).toBe(200);
  await eventually(async () => (await poller(channel.id).describe()).status.name === 'COMPLETED', 30_000, 'poller ended');
  const asked = x.calls('dm_events', acct.id).length;
  await x.customerSends(acct.id, { from: ada, text: 'while switched off' });
  await sleep(1500);
  expect(x.calls('dm_events', acct.id)).toHaveLength(asked);

  expect((await api(apiKey).patch(`/api/channels/${channel.id}`, { is_active: true })).status).toBe(200);
  await channelStatus(apiKey, channel.id, 'connected');
  // X kept the DM; the cursor says where the channel left off.
  expect(await inboundTexts(apiKey, ada.id, 2)).toEqual(['before', 'while switched off']);
  await afterPolls(acct.id);
  expect((await storedInbound(channel.id)).map((m: any) => m.content)).toEqual(['before', 'while switched off']);
});

test('the poller continues as new as its history grows, missing nothing across runs', async () => {
  const { apiKey, acct, channel } = await xChannel();
  const handle = await stack.temporal.workflow.start(channelPollerWorkflow, {
    workflowId: `x-poller/${channel.id}`,
    taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
    args: [{ channelId: channel.id, maxHistoryEvents: 30 }],
    workflowIdConflictPolicy: 'TERMINATE_EXISTING',
  });
  const ada = customer('Ada');
  const texts = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
  for (const text of texts) {
    await x.customerSends(acct.id, { from: ada, text });
    await sleep(700);
  }
  expect(await inboundTexts(apiKey, ada.id, 6)).toEqual(texts);
  const latest = await stack.temporal.workflow.getHandle(`x-poller/${channel.id}`).describe();
  expect(latest.runId).not.toBe(handle.firstExecutionRunId);
  expect(latest.status.name).toBe('RUNNING');
});

/**
 * A workflow's history with every activity result decrypted (payload-codec.ts): what Temporal
 * carries for it, as if it were in the clear, so the test shows the poller hands on no DM content
 * whether or not payloads are encrypted.
 */
async function historyText(workflowId: string): Promise<{ text: string; results: any[] }> {
  const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
  const codec = new PayloadEncryptionCodec(secretBoxFrom(stack.config));
  const utf8 = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v);
  const payloads = (history.events ?? []).flatMap((e) => e.activityTaskCompletedEventAttributes?.result?.payloads ?? []);
  const results = (await codec.decode(payloads)).map((p) => JSON.parse(utf8(p.data) as string));
  return { text: JSON.stringify([history, results], (_k, v) => utf8(v)), results };
}

test('a long backlog: many pages, in several calls and across rate-limit windows, handed on oldest first; the workflow carries only a token', async () => {
  const acct = x.createAccount();
  x.setRateLimit('dm_events', 12, 2, acct.id);
  const { apiKey, channel } = await xChannel({ account: acct });
  const ada = customer('Ada');
  x.setPageSize(1);
  // Unique words to look for in Temporal's history: none of a DM's content may be there.
  const marker = randomUUID();
  const texts = Array.from({ length: 30 }, (_, i) => `backlog ${i + 1} ${marker}`);
  await queue(acct.id, ada, texts);
  expect(await inboundTexts(apiKey, ada.id, 30)).toEqual(texts);
  expect(x.calls('dm_events', acct.id).filter((c) => c.status !== 200)).toEqual([]);

  const { text, results } = await historyText(`x-poller/${channel.id}`);
  expect(text).not.toContain(marker);
  const outcomes = results.map((r) => r.outcome);
  expect(outcomes).toEqual(expect.arrayContaining(['paging', 'rate_limited', 'polled']));
  for (const r of results.filter((r) => r.resume)) expect(Object.keys(r.resume)).toEqual(['nextToken']);
  expect(Math.max(...results.map((r) => JSON.stringify(r).length))).toBeLessThan(500);
  // Staged events go once handed on.
  await afterPolls(acct.id);
  expect(await stack.db('polled_inbound_events').where({ channel_id: channel.id })).toEqual([]);
  expect((await storedInbound(channel.id)).map((m: any) => m.content)).toEqual(texts);
});

test('an event whose id is not a number is set aside once; polling goes on past it', async () => {
  const { apiKey, acct, channel } = await xChannel();
  const ada = customer('Ada');
  await x.customerSends(acct.id, { from: ada, text: 'before' });
  expect(await inboundTexts(apiKey, ada.id, 1)).toEqual(['before']); // the cursor is set: new ids are compared with it
  x.world.events.push({ id: 'not-a-snowflake', senderId: ada.id, recipientId: acct.id, text: 'broken', createdAtMs: Date.now() });
  await x.customerSends(acct.id, { from: ada, text: 'after' });
  expect(await inboundTexts(apiKey, ada.id, 2)).toEqual(['before', 'after']);
  await afterPolls(acct.id, 3);
  const ignored = await stack.db('ignored_events').where({ channel_id: channel.id });
  expect(ignored).toEqual([expect.objectContaining({ reason: 'unreadable_event', payload: expect.objectContaining({ id: 'not-a-snowflake' }) })]);
  // Not waiting out an outage: its polls succeed.
  const view = await eventually(async () => {
    const v = await poller(channel.id).query(pollerStateQuery);
    return v.state === 'waiting' ? v : undefined;
  }, 10_000, 'the poller waiting for its next poll');
  expect(view.handedOn).toBe(2);
  await x.customerSends(acct.id, { from: ada, text: 'later' });
  expect(await inboundTexts(apiKey, ada.id, 3)).toEqual(['before', 'after', 'later']);
});

test('the poller workflow sleeps what its activity says and reads no clock of its own', async () => {
  // Its activity replaced: a reset an hour away, but the activity says to wait 50 ms.
  const far = Date.now() + 3_600_000;
  const script: PollChannelResult[] = [
    { outcome: 'rate_limited', notBeforeMs: far, resumesAt: new Date(far).toISOString(), resume: { nextToken: 't1' }, polledAt: '2030-01-01T00:00:01.000Z', waitMs: 50 },
    { outcome: 'paging', handedOn: 0, resume: { nextToken: 't2' }, polledAt: '2030-01-01T00:00:02.000Z', waitMs: 0 },
    { outcome: 'polled', handedOn: 3, polledAt: '2030-01-01T00:00:03.000Z', waitMs: 1500 },
    { outcome: 'stopped', reason: 'not_polling', polledAt: '2030-01-01T00:00:04.000Z', waitMs: 0 },
  ];
  const calls: PollChannelInput[] = [];
  const taskQueue = `x-poller-script-${randomUUID()}`;
  const connection = await NativeConnection.connect({ address: stack.config.TEMPORAL_ADDRESS });
  try {
    const worker = await Worker.create({
      connection,
      namespace: stack.config.TEMPORAL_NAMESPACE,
      taskQueue,
      workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
      dataConverter: dataConverterFor(secretBoxFrom(stack.config)),
      activities: { pollChannel: async (input: PollChannelInput) => script[calls.push(input) - 1] },
    });
    const channelId = randomUUID();
    await worker.runUntil(async () => {
      const handle = await stack.temporal.workflow.start(channelPollerWorkflow, { workflowId: `x-poller-script/${channelId}`, taskQueue, args: [{ channelId }] });
      await eventually(async () => calls.length === 3, 10_000, 'three polls');
      const view = await eventually(async () => {
        const v = await handle.query(pollerStateQuery);
        return v.lastPolledAt === script[2].polledAt ? v : undefined;
      }, 10_000, 'the third poll seen');
      expect(view).toMatchObject({ state: 'waiting', handedOn: 3, resumesAt: null });
      await handle.result();
    });
    expect(calls).toEqual([
      { channelId },
      { channelId, resume: { nextToken: 't1' }, notBeforeMs: far },
      { channelId, resume: { nextToken: 't2' }, notBeforeMs: far },
      { channelId },
    ]);
  } finally {
    await connection.close();
  }
});

test("a worker starting finds every polling channel's poller running, of today's type: one that was ended, or one of an earlier version's type, is started anew and goes on from the cursor; a channel that cannot be read does not stop the others", async () => {
  const { apiKey, acct, channel } = await xChannel();
  // A second X channel of the same account.
  const acct2 = x.createAccount();
  const { api_key, api_secret, access_token, access_token_secret } = acct2.credentials;
  const created = await api(apiKey).post('/api/channels', { type: 'x', name: 'X two', config: { api_key, api_secret, access_token, access_token_secret, inbound: 'polling', poll_interval_seconds: 1 } });
  const other = { channel: await channelStatus(apiKey, created.body.id, 'connected') };
  const ada = customer('Ada');
  await x.customerSends(acct.id, { from: ada, text: 'before' });
  expect(await inboundTexts(apiKey, ada.id, 1)).toEqual(['before']);
  const accountOf = async (id: string) => (await stack.db('channels').where({ id }).first('account_id')).account_id as string;
  const reconcile = async (channelId = channel.id) =>
    reconcilePollers({ client: stack.temporal, db: stack.db, secrets: secretBoxFrom(stack.config), log: stack.log }, stack.config.TEMPORAL_TASK_QUEUE, { accountId: await accountOf(channelId) });
  /** Reconciling reads Temporal's visibility, which follows a change within a moment. */
  const listed = (type: string, channelId = channel.id) =>
    eventually(async () => {
      for await (const w of stack.temporal.workflow.list({ query: `WorkflowId = 'x-poller/${channelId}' AND ExecutionStatus = 'Running'` })) if (w.type === type) return true;
      return undefined;
    }, 30_000, `${type} listed for ${channelId}`);
  const notListed = (channelId = channel.id) =>
    eventually(async () => {
      for await (const _ of stack.temporal.workflow.list({ query: `WorkflowId = 'x-poller/${channelId}' AND ExecutionStatus = 'Running'` })) return undefined;
      return true;
    }, 30_000, `no poller listed for ${channelId}`);

  await listed('channelPollerWorkflow');
  expect(await reconcile()).toEqual({ started: [], replaced: [] });
  await poller(channel.id).terminate('an operator ended it');
  await notListed();
  await x.customerSends(acct.id, { from: ada, text: 'while no poller ran' });
  expect(await reconcile()).toEqual({ started: [channel.id], replaced: [] });
  await listed('channelPollerWorkflow');
  expect(await inboundTexts(apiKey, ada.id, 2)).toEqual(['before', 'while no poller ran']);

  // A poller of the type an earlier version ran (no worker here runs it: it would sit there forever).
  await poller(channel.id).terminate('upgrading');
  await stack.temporal.workflow.start('xPollerWorkflow', { workflowId: `x-poller/${channel.id}`, taskQueue: `retired-${randomUUID()}`, args: [{ channelId: channel.id }] });
  await listed('xPollerWorkflow');
  await x.customerSends(acct.id, { from: ada, text: 'across the upgrade' });
  expect(await reconcile()).toEqual({ started: [channel.id], replaced: [channel.id] });
  await listed('channelPollerWorkflow');
  expect(await inboundTexts(apiKey, ada.id, 3)).toEqual(['before', 'while no poller ran', 'across the upgrade']);
  expect(await reconcile()).toEqual({ started: [], replaced: [] });

  // A channel whose credentials this worker cannot open (sealed with a key since dropped) is skipped, and said so; the others are not.
  await listed('channelPollerWorkflow', other.channel.id);
  const foreign = secretBoxFrom({ PINGBACK_ENCRYPTION_KEY: randomBytes(32).toString('base64'), PINGBACK_ENCRYPTION_OLD_KEYS: '' } as any);
  const row = await stack.db('channels').where({ id: other.channel.id }).first('config');
  await stack.db('channels').where({ id: other.channel.id }).update({ config: JSON.stringify({ ...row.config, api_key: foreign.seal('k') }) });
  await poller(other.channel.id).terminate('an operator ended it');
  await poller(channel.id).terminate('an operator ended it');
  await notListed(other.channel.id);
  await notListed();
  expect(await reconcile()).toEqual({ started: [channel.id], replaced: [] });
  expect(stack.log.lines.some((l) => l.includes('poller not started') && l.includes(other.channel.id))).toBe(true);
});
