import { freePort } from '../../src/dev/dev-server';
import { mailFilesSweep } from '../../src/db/stored-media';
import { composeMail, MAIL_TLS_CA_FILE, MailProvider } from '../helpers/mail-provider';
import { sum } from '../helpers/prometheus';
import { createAccount, eventually, request, Stack, stackWithFake } from '../helpers/stack';

/**
 * The files mail leaves on PingBack (mail by webhook: no mailbox keeps them), as an operator
 * bounds and watches them: daily limits from the environment, a retention period, and what is
 * kept and dropped on the api's metrics page.
 */
let stack: Stack;
let provider: MailProvider;
let metricsAddress: string;
beforeAll(async () => {
  metricsAddress = `127.0.0.1:${await freePort()}`;
});
stackWithFake(
  () => MailProvider.start(),
  () => ({ EMAIL_TLS_CA_FILE: MAIL_TLS_CA_FILE, API_METRICS_ADDRESS: metricsAddress, MAIL_FILES_SENDER_MIB_PER_DAY: '1', MAIL_FILES_RETENTION_DAYS: '30' }),
  (s, p) => ((stack = s), (provider = p)),
);

const scrape = async () => (await fetch(`http://${metricsAddress}/metrics`)).text();

async function webhookChannel() {
  const { apiKey } = await createAccount(stack, 'mini');
  const ch = await request(stack.url, 'POST', '/api/channels', { token: apiKey, json: { type: 'email', config: provider.channelConfig('webhook') } });
  await eventually(async () => (await request(stack.url, 'GET', `/api/channels/${ch.body.id}`, { token: apiKey })).body.status === 'connected', 30_000, 'connected');
  return { apiKey, channel: ch.body };
}

async function mailWithFile(channel: { callback_url: string; verify_token: string }, from: string, text: string, bytes: number) {
  const raw = await composeMail({ from, to: 'support@acme.test', subject: text, text, attachments: [{ filename: 'scan.pdf', content: Buffer.alloc(bytes, 7), contentType: 'application/pdf' }] });
  const res = await request(stack.url, 'POST', new URL(channel.callback_url).pathname, { body: raw.toString(), headers: { 'content-type': 'message/rfc822', authorization: `Bearer ${channel.verify_token}` } });
  expect(res.status).toBe(200);
}

async function message(apiKey: string, text: string) {
  return eventually(async () => {
    const convs = await request(stack.url, 'GET', '/api/conversations?channel_type=email', { token: apiKey });
    for (const c of convs.body.data) {
      const m = (await request(stack.url, 'GET', `/api/conversations/${c.id}/messages`, { token: apiKey })).body.data.find((m: any) => m.content === text);
      if (m) return { ...m, conversation_id: c.id };
    }
    return undefined;
  }, 30_000, `the message "${text}"`);
}

test("a sender's daily allowance comes from the environment; kept and dropped files show on the metrics page", async () => {
  const { apiKey, channel } = await webhookChannel();
  await mailWithFile(channel, 'ann@customer.example', 'first scan', 600 * 1024);
  await mailWithFile(channel, 'ann@customer.example', 'second scan', 600 * 1024);

  const first = await message(apiKey, 'first scan');
  expect(first.attachments[0].dropped).toBeUndefined();
  const second = await message(apiKey, 'second scan');
  // 1 MiB a day for one sender (MAIL_FILES_SENDER_MIB_PER_DAY=1): the second file does not fit.
  expect(second.attachments[0].dropped).toBe('sender_daily_limit');
  expect(second.metadata.files_dropped).toBe('sender_daily_limit');

  // This api's first scrape: the storage is counted now (then at most once a minute), the kept file in it.
  const page = await scrape();
  expect(sum(page, 'pingback_mail_files_dropped_total', { reason: 'sender_daily_limit' })).toBe(1);
  expect(sum(page, 'pingback_stored_bytes', { kind: 'mail' })).toBeGreaterThanOrEqual(600 * 1024);
  expect(sum(page, 'pingback_stored_files', { kind: 'mail' })).toBeGreaterThanOrEqual(1);
  expect(page).toMatch(/^pingback_stored_files\{kind="upload"\} \d+$/m);
  // Active channels by type and status, this one among them.
  expect(sum(page, 'pingback_channels', { type: 'email', status: 'connected' })).toBeGreaterThanOrEqual(1);
});

test('past MAIL_FILES_RETENTION_DAYS a kept file is deleted; its message stays and opening the file says why', async () => {
  const { apiKey, channel } = await webhookChannel();
  await mailWithFile(channel, 'bo@customer.example', 'old invoice', 10 * 1024);
  await mailWithFile(channel, 'bo@customer.example', 'new invoice', 10 * 1024);
  const old = await message(apiKey, 'old invoice');
  const fresh = await message(apiKey, 'new invoice');
  const open = (m: any) => request(stack.url, 'GET', `/api/conversations/${m.conversation_id}/messages/${m.id}/attachments/0`, { token: apiKey });
  expect((await open(old)).status).toBe(200);

  await stack.db('stored_media').where({ id: old.attachments[0].storedMediaId }).update({ created_at: stack.db.raw("now() - interval '31 days'") });
  // An upload as old stays: only files that came with mail have this retention.
  const upload = await stack.db('stored_media').where({ id: fresh.attachments[0].storedMediaId }).first('channel_id');
  const [kept] = await stack.db('stored_media')
    .insert({ channel_id: upload.channel_id, owner: 'v_upload', client_id: 'upload-1', content_type: 'text/plain', size: 1, sha256: 'x', bytes: Buffer.from('x'), created_at: stack.db.raw("now() - interval '400 days'") })
    .returning('id');
  let deleted = 0;
  for (let n = -1; n !== 0; ) deleted += n = await mailFilesSweep(30).sweep(stack.db, 500);
  expect(deleted).toBeGreaterThanOrEqual(1);

  const gone = await open(old);
  expect(gone.status).toBe(404);
  expect(gone.body.error).toEqual({ code: 'media_not_available', message: 'the file is no longer stored: files that come with mail are kept 30 days' });
  expect((await open(fresh)).status).toBe(200);
  expect((await message(apiKey, 'old invoice')).content).toBe('old invoice');
  expect(await stack.db('stored_media').where({ id: kept.id }).first('id')).toBeDefined();
  await stack.db('stored_media').where({ id: kept.id }).delete();
});
