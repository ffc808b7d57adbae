import { randomBytes, randomUUID } from 'node:crypto';
import { startSweeper } from '../../src/db/sweeper';
import { MAX_UNLINKED_UPLOADS, unlinkedMediaSweep } from '../../src/db/stored-media';
import { silentLogger } from '../../src/log';
import { createAccount, eventually, request, Stack, startStack } from '../helpers/stack';

/**
 * Files from a web chat visitor, end to end: uploaded to the widget API, named by a
 * message, stored by PingBack (there is no platform to fetch them from again), opened by
 * the agent from the inbox and by the visitor from the widget, and nobody else.
 */
const SITE = 'https://shop.example.com';
const MAX_BYTES = 64 * 1024;
const UPLOADS_PER_MINUTE = MAX_UNLINKED_UPLOADS + 10;
let stack: Stack;
let apiKey: string;
let channelId: string;

beforeAll(async () => {
  stack = await startStack({ WEBCHAT_ATTACHMENT_MAX_BYTES: String(MAX_BYTES), WEBCHAT_UPLOADS_PER_MINUTE: String(UPLOADS_PER_MINUTE) });
  ({ apiKey } = await createAccount(stack, 'free'));
  const ch = await request(stack.url, 'POST', '/api/channels', { token: apiKey, json: { type: 'webchat', config: { allowed_domains: ['shop.example.com'] } } });
  expect(ch.status).toBe(201);
  channelId = ch.body.id;
});
afterAll(async () => {
  await stack?.stop();
});

async function visitor() {
  const made = await request(stack.url, 'POST', `/widget/${channelId}/visitors`, { headers: { origin: SITE } });
  expect(made.status).toBe(201);
  const token: string = made.body.token;
  const headers = { origin: SITE, authorization: `Bearer ${token}` };
  return {
    id: made.body.visitor_id as string,
    token,
    async upload(bytes: Buffer, contentType: string | undefined, query = '') {
      const res = await fetch(`${stack.url}/widget/${channelId}/attachments${query}`, {
        method: 'POST',
        headers: { ...headers, ...(contentType ? { 'content-type': contentType } : {}) },
        body: new Uint8Array(bytes),
      });
      return { status: res.status, body: (await res.json()) as any };
    },
    say: (json: object) => request(stack.url, 'POST', `/widget/${channelId}/messages`, { token, headers: { origin: SITE }, json }),
    read: async () => (await request(stack.url, 'GET', `/widget/${channelId}/messages`, { token, headers: { origin: SITE } })).body.data as any[],
    open: (id: string) => fetch(`${stack.url}/widget/${channelId}/attachments/${id}`, { headers }),
  };
}

async function storedMessagesOf(visitorId: string, count: number) {
  const conv = await eventually(async () => {
    const list = await request(stack.url, 'GET', `/api/conversations?channel_id=${channelId}`, { token: apiKey });
    return list.body.data.find((c: any) => c.contact.platform_user_id === visitorId);
  }, 30_000, `the conversation of ${visitorId}`);
  const messages = await eventually(async () => {
    const data = (await request(stack.url, 'GET', `/api/conversations/${conv.id}/messages`, { token: apiKey })).body.data as any[];
    return data.length === count ? data : undefined;
  }, 30_000, `${count} messages stored`);
  return { conv, messages };
}

/** A name with an apostrophe and characters outside ISO-8859-1: both need care in a Content-Disposition header. */
const NAME = "l'reçu 收据.png";
const png = () => Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(2000)]);

test("a visitor's files reach the agent byte for byte, and the widget shows them back to that visitor only", async () => {
  const v = await visitor();
  const photo = png();
  const up = await v.upload(photo, 'image/png', `?name=${encodeURIComponent(NAME)}`);
  expect(up.status).toBe(201);
  expect(up.body).toEqual({ id: expect.any(String), file_name: NAME, content_type: 'image/png', size: photo.length });
  const pdf = Buffer.from('%PDF-1.4\n% a statement\n');
  const doc = await v.upload(pdf, 'application/pdf; name="x.pdf"');
  expect(doc.status).toBe(201);
  expect(doc.body.content_type).toBe('application/pdf');

  expect((await v.say({ id: 'with-photo', content: 'here is the receipt', attachments: [up.body.id] })).status).toBe(202);
  // A file alone is a message too.
  expect((await v.say({ id: 'only-pdf', attachments: [doc.body.id] })).status).toBe(202);

  const { conv, messages } = await storedMessagesOf(v.id, 2);
  expect(messages.map((m) => [m.content, m.content_type, m.attachments])).toEqual([
    ['here is the receipt', 'image', [{ type: 'image', storedMediaId: up.body.id, mimeType: 'image/png', fileName: NAME, size: photo.length }]],
    ['', 'document', [{ type: 'document', storedMediaId: doc.body.id, mimeType: 'application/pdf', size: pdf.length }]],
  ]);

  // The agent opens them from the inbox: the photo in place, the PDF as a download.
  const asAgent = (messageId: string) => fetch(`${stack.url}/api/conversations/${conv.id}/messages/${messageId}/attachments/0`, { headers: { authorization: `Bearer ${apiKey}` } });
  const shown = await asAgent(messages[0].id);
  expect(shown.status).toBe(200);
  expect(shown.headers.get('content-type')).toBe('image/png');
  // RFC 6266: an ASCII stand-in, and the name itself in RFC 8187's encoding (which, unlike encodeURIComponent, escapes the ').
  expect(shown.headers.get('content-disposition')).toBe(`inline; filename="l're?u ??.png"; filename*=UTF-8''l%27re%C3%A7u%20%E6%94%B6%E6%8D%AE.png`);
  expect(Buffer.from(await shown.arrayBuffer()).equals(photo)).toBe(true);
  const downloaded = await asAgent(messages[1].id);
  expect(downloaded.headers.get('content-disposition')).toBe('attachment');
  expect(Buffer.from(await downloaded.arrayBuffer()).equals(pdf)).toBe(true);
  // Another account's key opens nothing.
  const stranger = await createAccount(stack, 'free');
  const notTheirs = await fetch(`${stack.url}/api/conversations/${conv.id}/messages/${messages[0].id}/attachments/0`, { headers: { authorization: `Bearer ${stranger.apiKey}` } });
  expect(notTheirs.status).toBe(404);

  // The widget lists the visitor's files with their messages, and opens them for that visitor.
  expect((await v.read()).map((m) => [m.client_message_id, m.content, m.attachments])).toEqual([
    ['with-photo', 'here is the receipt', [{ id: up.body.id, file_name: NAME, content_type: 'image/png', size: photo.length }]],
    ['only-pdf', '', [{ id: doc.body.id, file_name: null, content_type: 'application/pdf', size: pdf.length }]],
  ]);
  const mine = await v.open(up.body.id);
  expect(mine.status).toBe(200);
  expect(mine.headers.get('x-content-type-options')).toBe('nosniff');
  expect(mine.headers.get('access-control-expose-headers')).toMatch(/Content-Disposition/);
  expect(Buffer.from(await mine.arrayBuffer()).equals(photo)).toBe(true);
  const other = await visitor();
  expect((await other.open(up.body.id)).status).toBe(404);
  expect((await other.open('not-a-uuid')).status).toBe(404);
});

test("an agent's reply carries files to the visitor, who alone may open them", async () => {
  const v = await visitor();
  expect((await v.say({ id: 'need-label', content: 'I need a return label' })).status).toBe(202);
  const { conv } = await storedMessagesOf(v.id, 1);
  const label = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(3000)]);
  const asAgent = (path: string, init: RequestInit = {}) => fetch(`${stack.url}/api/conversations/${conv.id}${path}`, { ...init, headers: { authorization: `Bearer ${apiKey}`, ...(init.headers as object) } });
  const up = await asAgent('/attachments?name=label.pdf', { method: 'POST', headers: { 'content-type': 'application/pdf' }, body: new Uint8Array(label) });
  expect(up.status).toBe(201);
  const file = (await up.json()) as any;
  expect(file).toEqual({ id: expect.any(String), file_name: 'label.pdf', content_type: 'application/pdf', size: label.length });
  // Not sent yet: not the visitor's to open.
  expect((await v.open(file.id)).status).toBe(404);

  // Another conversation's upload is not this reply's to carry.
  const elsewhere = await visitor();
  expect((await elsewhere.say({ id: 'other', content: 'hi' })).status).toBe(202);
  const other = (await storedMessagesOf(elsewhere.id, 1)).conv;
  const notHere = await request(stack.url, 'POST', `/api/conversations/${other.id}/messages`, { token: apiKey, json: { attachments: [file.id] } });
  expect([notHere.status, notHere.body.error.code]).toEqual([400, 'invalid_attachment']);

  const reply = await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: 'Here it is', attachments: [file.id] } });
  expect(reply.status).toBe(202);
  expect(reply.body).toMatchObject({ content: 'Here it is', content_type: 'document', attachments: [{ type: 'document', storedMediaId: file.id, fileName: 'label.pdf', size: label.length }] });
  await eventually(async () => (await request(stack.url, 'GET', `/api/conversations/${conv.id}/messages`, { token: apiKey })).body.data.some((m: any) => m.id === reply.body.id && m.status === 'sent') || undefined, 30_000, 'the reply sent');

  // The widget shows it with its file, which the visitor opens; nobody else can.
  const agentMessage = await eventually(async () => (await v.read()).find((m) => m.from === 'agent'), 30_000, 'the reply in the widget');
  expect(agentMessage).toMatchObject({ content: 'Here it is', attachments: [{ id: file.id, file_name: 'label.pdf', content_type: 'application/pdf', size: label.length }] });
  const opened = await v.open(file.id);
  expect([opened.status, opened.headers.get('content-disposition')]).toEqual([200, 'attachment; filename="label.pdf"']);
  expect(Buffer.from(await opened.arrayBuffer()).equals(label)).toBe(true);
  expect((await elsewhere.open(file.id)).status).toBe(404);
  expect((await stack.db('stored_media').where({ id: file.id }).first('message_id')).message_id).toBe(reply.body.id);
  // The agent opens it from the inbox too.
  const inInbox = await asAgent(`/messages/${reply.body.id}/attachments/0`);
  expect(Buffer.from(await inInbox.arrayBuffer()).equals(label)).toBe(true);

  // A file goes out once; a reply may be a file alone.
  const again = await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: 'and again', attachments: [file.id] } });
  expect([again.status, again.body.error.code]).toEqual([400, 'invalid_attachment']);
  const photo = (await (await asAgent('/attachments?name=box.png', { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(png()) })).json()) as any;
  const fileOnly = await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { attachments: [photo.id] } });
  expect([fileOnly.status, fileOnly.body.content, fileOnly.body.content_type]).toEqual([202, '', 'image']);
  await eventually(async () => (await v.read()).find((m) => m.id === fileOnly.body.id), 30_000, 'the file-only reply in the widget');
});

test("a file the channel's platform does not take is refused with the reply, and nothing is written", async () => {
  const mini = await createAccount(stack, 'mini');
  // An X channel's row and a conversation of it (no X here: the channel's set-up fails, its rows are all this needs).
  const ch = await request(stack.url, 'POST', '/api/channels', { token: mini.apiKey, json: { type: 'x', config: { oauth2_user_token: 'x-user-token-0123456789' } } });
  expect(ch.status).toBe(201);
  const [contact] = await stack.db('contacts').insert({ channel_id: ch.body.id, platform_user_id: '42' }).returning('id');
  const [conv] = await stack.db('conversations')
    .insert({ account_id: mini.accountId, channel_id: ch.body.id, channel_type: 'x', contact_id: contact.id, thread_key: '42', workflow_id: `test-${ch.body.id}` })
    .returning('id');
  const upload = await fetch(`${stack.url}/api/conversations/${conv.id}/attachments?name=notes.pdf`, { method: 'POST', headers: { authorization: `Bearer ${mini.apiKey}`, 'content-type': 'application/pdf' }, body: new Uint8Array(Buffer.from('%PDF-1.7')) });
  expect(upload.status).toBe(201);
  const file = (await upload.json()) as any;
  const reply = await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: mini.apiKey, json: { content: 'see file', attachments: [file.id] } });
  expect([reply.status, reply.body.error.code]).toEqual([422, 'file_not_accepted']);
  expect(reply.body.error.message).toMatch(/^notes\.pdf: X DMs from PingBack take images/);
  expect(await stack.db('messages').where({ conversation_id: conv.id })).toEqual([]);
});

test('an upload sent again with the same id is stored once, and the same id with other bytes is refused', async () => {
  const v = await visitor();
  const bytes = png();
  const first = await v.upload(bytes, 'image/png', '?id=w-1.f0&name=a.png');
  const again = await v.upload(bytes, 'image/png', '?id=w-1.f0&name=a.png');
  expect([first.status, again.status]).toEqual([201, 200]);
  expect(again.body).toEqual(first.body);
  const clash = await v.upload(png(), 'image/png', '?id=w-1.f0&name=a.png');
  expect(clash.status).toBe(409);
  expect(clash.body.error.code).toBe('upload_id_reused');
  // Ids are per visitor: another visitor's w-1.f0 is a file of its own.
  const other = await visitor();
  const theirs = await other.upload(bytes, 'image/png', '?id=w-1.f0');
  expect(theirs.status).toBe(201);
  expect(theirs.body.id).not.toBe(first.body.id);
  expect(await stack.db('stored_media').where({ channel_id: channelId, owner: v.id }).count({ n: '*' })).toEqual([{ n: '1' }]);
});

test('bad uploads and messages naming files they may not are refused, with nothing stored', async () => {
  const v = await visitor();
  const before = await stack.db('stored_media').where({ channel_id: channelId, owner: v.id }).count({ n: '*' });
  const refusals: Array<[Promise<{ status: number; body: any }>, number, string]> = [
    [v.upload(png(), undefined), 415, 'unsupported_media_type'],
    [v.upload(png(), 'png'), 415, 'unsupported_media_type'],
    [v.upload(Buffer.alloc(0), 'image/png'), 400, 'empty_attachment'],
    [v.upload(Buffer.alloc(MAX_BYTES + 1), 'image/png'), 413, 'payload_too_large'],
    [v.upload(png(), 'image/png', '?name=..%2Fetc%2Fpasswd'), 422, 'validation_failed'],
    [v.upload(png(), 'image/png', '?id=has%20spaces'), 422, 'validation_failed'],
  ];
  for (const [pending, status, code] of refusals) {
    const r = await pending;
    expect([r.status, r.body.error.code]).toEqual([status, code]);
  }
  const noToken = await fetch(`${stack.url}/widget/${channelId}/attachments`, { method: 'POST', headers: { origin: SITE, 'content-type': 'image/png' }, body: new Uint8Array(png()) });
  expect(noToken.status).toBe(401);
  expect(await stack.db('stored_media').where({ channel_id: channelId, owner: v.id }).count({ n: '*' })).toEqual(before);

  // Someone else's upload, an id that is no upload, one twice, too many: refused, and no conversation starts.
  const other = await visitor();
  const theirs = (await other.upload(png(), 'image/png')).body.id;
  const mine = (await v.upload(png(), 'image/png')).body.id;
  const stolen = await v.say({ content: 'look', attachments: [mine, theirs] });
  expect([stolen.status, stolen.body.error.code]).toEqual([400, 'invalid_attachment']);
  expect(stolen.body.error.message).toContain(theirs);
  for (const [body, path] of [
    [{ attachments: [mine, mine] }, 'attachments'],
    [{ attachments: Array.from({ length: 11 }, () => mine) }, 'attachments'],
    [{ attachments: ['nope'] }, 'attachments.0'],
    [{ attachments: [] }, 'content'],
  ] as const) {
    const r = await v.say(body);
    expect(r.status).toBe(422);
    expect(r.body.error.details.fields.map((f: any) => f.path)).toEqual([path]);
  }
  // The refused message claimed neither file.
  expect((await stack.db('stored_media').whereIn('id', [mine, theirs]).whereNotNull('claimed_at')).length).toBe(0);
  await new Promise((r) => setTimeout(r, 500));
  const list = await request(stack.url, 'GET', `/api/conversations?channel_id=${channelId}`, { token: apiKey });
  expect(list.body.data.some((c: any) => c.contact.platform_user_id === v.id)).toBe(false);
});

test('a visitor can park only so many files no message took, even uploading at once, and uploads past the per-minute limit get 429', async () => {
  const v = await visitor();
  const at = await Promise.all(Array.from({ length: MAX_UNLINKED_UPLOADS + 5 }, (_, i) => v.upload(Buffer.from(`file ${i}`), 'text/plain')));
  expect(at.filter((r) => r.status === 201)).toHaveLength(MAX_UNLINKED_UPLOADS);
  expect(at.filter((r) => r.status === 409).map((r) => r.body.error.code)).toEqual(Array(5).fill('too_many_pending_uploads'));
  expect(await stack.db('stored_media').where({ channel_id: channelId, owner: v.id }).count({ n: '*' })).toEqual([{ n: String(MAX_UNLINKED_UPLOADS) }]);
  const rest: number[] = [];
  for (let i = at.length; i <= UPLOADS_PER_MINUTE; i++) rest.push((await v.upload(Buffer.from('more'), 'text/plain')).status);
  expect(rest).toEqual([...Array(UPLOADS_PER_MINUTE - at.length).fill(409), 429]);
});

test('files no stored message took are swept a day on; files a message took stay, and a duplicate message takes none', async () => {
  const v = await visitor();
  const parked = (await v.upload(Buffer.from('never sent'), 'text/plain')).body.id;
  const taken = (await v.upload(Buffer.from('sent'), 'text/plain', '?name=notes.txt')).body.id;
  const late = (await v.upload(Buffer.from('sent again under the same id'), 'text/plain')).body.id;
  expect((await v.say({ id: 'sweep-1', attachments: [taken] })).status).toBe(202);
  const { messages } = await storedMessagesOf(v.id, 1);
  // The same message id again with another file: accepted (a retry), but the stored message keeps its own file.
  expect((await v.say({ id: 'sweep-1', attachments: [late] })).status).toBe(202);
  // A message after it: once that is stored, the conversation's workflow has handled the duplicate.
  expect((await v.say({ id: 'sweep-2', content: 'thanks' })).status).toBe(202);
  const stored = (await storedMessagesOf(v.id, 2)).messages;
  expect(stored.map((m) => m.attachments.map((a: any) => a.storedMediaId))).toEqual([[taken], []]);
  expect((await stack.db('stored_media').where({ id: taken }).first('message_id')).message_id).toBe(messages[0].id);
  expect((await stack.db('stored_media').where({ id: late }).first('message_id')).message_id).toBeNull();

  // A day on, a file no accepted message named goes. One a message named waits a week from then (its
  // message may sit in Temporal while workers are down), and goes if no stored message took it by then.
  const waiting = (await v.upload(Buffer.from('named by a message still in Temporal'), 'text/plain')).body.id;
  const ago = (interval: string) => stack.db.raw(`now() - interval '${interval}'`);
  await stack.db('stored_media').whereIn('id', [parked, taken]).update({ created_at: ago('25 hours'), claimed_at: null });
  await stack.db('stored_media').where({ id: waiting }).update({ created_at: ago('25 hours'), claimed_at: ago('6 days') });
  await stack.db('stored_media').where({ id: late }).update({ created_at: ago('9 days'), claimed_at: ago('8 days') });
  const sweeper = startSweeper(stack.db, silentLogger, [unlinkedMediaSweep], { firstAfterMs: 0 });
  try {
    await eventually(async () => (await stack.db('stored_media').whereIn('id', [parked, late])).length === 0 || undefined, 10_000, 'the unlinked files swept');
  } finally {
    await sweeper.stop();
  }
  expect((await v.open(parked)).status).toBe(404);
  expect(await (await v.open(taken)).text()).toBe('sent');
  expect(await (await v.open(waiting)).text()).toBe('named by a message still in Temporal');
});

test('files that could run script are always served as downloads, to the agent and to the visitor', async () => {
  const v = await visitor();
  const html = (await v.upload(Buffer.from('<script>alert(1)</script>'), 'text/html', '?name=page.html')).body.id;
  const svg = (await v.upload(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'), 'image/svg+xml')).body.id;
  expect((await v.say({ id: 'script-1', attachments: [html, svg] })).status).toBe(202);
  const { conv, messages } = await storedMessagesOf(v.id, 1);
  for (const [i, id] of [html, svg].entries()) {
    const asAgent = await fetch(`${stack.url}/api/conversations/${conv.id}/messages/${messages[0].id}/attachments/${i}`, { headers: { authorization: `Bearer ${apiKey}` } });
    const asVisitor = await v.open(id);
    for (const r of [asAgent, asVisitor]) {
      expect(r.status).toBe(200);
      expect(r.headers.get('content-disposition')).toMatch(/^attachment\b/);
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    }
  }
});

test("past its plan's storage, an account's chat takes no more files, and the account shows what it keeps", async () => {
  const other = await createAccount(stack, 'free');
  const ch = (await request(stack.url, 'POST', '/api/channels', { token: other.apiKey, json: { type: 'webchat', config: {} } })).body.id;
  const made = await request(stack.url, 'POST', `/widget/${ch}/visitors`, {});
  const upload = (bytes: Buffer) =>
    fetch(`${stack.url}/widget/${ch}/attachments`, { method: 'POST', headers: { authorization: `Bearer ${made.body.token}`, 'content-type': 'text/plain' }, body: new Uint8Array(bytes) });
  expect((await upload(Buffer.alloc(1000, 1))).status).toBe(201);
  const account = await request(stack.url, 'GET', '/api/account', { token: other.apiKey });
  expect(account.body).toMatchObject({ limits: { max_stored_bytes: 1024 ** 3 }, usage: { stored_bytes: 1000 } });

  // The account's files fill the Free plan's gigabyte but for 100 bytes (one row standing for many files).
  await stack.db('stored_media').insert({ channel_id: ch, owner: 'mail:someone', content_type: 'application/pdf', size: 1024 ** 3 - 1100, sha256: '-', bytes: Buffer.alloc(1), message_id: null, claimed_at: stack.db.fn.now() });
  const refused = await upload(Buffer.alloc(101, 1));
  expect([refused.status, ((await refused.json()) as any).error.code]).toEqual([409, 'storage_quota_exceeded']);
  expect((await upload(Buffer.alloc(100, 1))).status).toBe(201);
  expect((await request(stack.url, 'GET', '/api/account', { token: other.apiKey })).body.usage.stored_bytes).toBe(1024 ** 3);
});

test('the upload endpoints answer a browser preflight, and a deactivated channel takes no uploads', async () => {
  const pre = await fetch(`${stack.url}/widget/${channelId}/attachments`, {
    method: 'OPTIONS',
    headers: { origin: SITE, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });
  expect(pre.status).toBe(204);
  expect(pre.headers.get('access-control-allow-origin')).toBe(SITE);

  const v = await visitor();
  expect((await request(stack.url, 'PATCH', `/api/channels/${channelId}`, { token: apiKey, json: { is_active: false } })).status).toBe(200);
  try {
    const r = await v.upload(png(), 'image/png');
    expect([r.status, r.body.error.code]).toEqual([409, 'channel_inactive']);
  } finally {
    expect((await request(stack.url, 'PATCH', `/api/channels/${channelId}`, { token: apiKey, json: { is_active: true } })).status).toBe(200);
  }
});

test('one address uploading as many visitors is limited too: three visitors’ worth a minute', async () => {
  // A stack of its own with a small limit, so the address's allowance is reached in a few uploads.
  const small = await startStack({ WEBCHAT_UPLOADS_PER_MINUTE: '2' });
  try {
    const { apiKey: key } = await createAccount(small, 'free');
    const ch = (await request(small.url, 'POST', '/api/channels', { token: key, json: { type: 'webchat', config: {} } })).body.id;
    const codes: number[] = [];
    for (let v = 0; v < 4; v++) {
      const token = (await request(small.url, 'POST', `/widget/${ch}/visitors`, {})).body.token;
      for (let i = 0; i < 2; i++) {
        const r = await fetch(`${small.url}/widget/${ch}/attachments`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, body: `visitor ${v} file ${i}` });
        codes.push(r.status);
      }
    }
    // Each visitor is within its own two a minute; the fourth is past the address's six.
    expect(codes).toEqual([201, 201, 201, 201, 201, 201, 429, 429]);
  } finally {
    await small.stop();
  }
});
