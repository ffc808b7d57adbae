/**
 * Local fake of the X API v2 DM endpoints, for integration tests and offline trials:
 * GET /2/users/me, GET /2/dm_events (X's paging: max_results, pagination_token,
 * meta.next_token, result_count; includes.users and includes.media), and
 * POST /2/dm_conversations/with/:participant_id/messages. Every call is authenticated
 * as X does it: an OAuth 1.0a HMAC-SHA1 signature recomputed with the account's secrets
 * (a wrong one is 401), or an OAuth 2.0 user token. Answers carry x-rate-limit-* headers
 * from a window per endpoint and account, and X's error bodies (fixtures in
 * shared/fixtures/platforms/x/). As the customer it queues DMs for polling or posts
 * signed Account Activity deliveries to a registered webhook.
 */
import type http from 'node:http';
import { listenFake, readBodyBytes, sendJson, type FakeServer } from './http';
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { hmacSha1, parseOAuth1Header, signatureBaseString } from '../channels/x/oauth1';
import { crcResponseToken, SIGNATURE_HEADER, webhookSignature } from '../channels/x/webhook';
import {
  accountActivityDm, accountActivityFollow, conversationId, DmEvent, failureReply, invalid, mediaKey, problem, Reply, tooMany, UNAUTHORIZED,
  v2DmEvent, XAccount, XFailure, XMedia, XUser, XWorld,
} from './x-world';

export type { XFailure } from './x-world';
export type XEndpoint = 'users_me' | 'dm_events' | 'dm_send' | 'media_upload';
export interface XCall {
  endpoint: XEndpoint | 'unknown';
  accountId?: string;
  status: number;
  at: number;
  query: Record<string, string>;
  auth?: 'oauth1' | 'oauth2';
  /** The x-rate-limit-remaining / -reset (ms) the answer carried. */
  remaining?: number;
  resetAtMs?: number;
}
export interface XSentDm {
  accountId: string;
  participantId: string;
  text: string;
  eventId: string;
  auth: 'oauth1' | 'oauth2';
  at: number;
  /** The DM's file, as uploaded (POST /2/media/upload). */
  media?: XUploaded;
}
/** A file uploaded for the account's DMs, kept as it came. */
export interface XUploaded { mediaId: string; category: string; type: string; name: string; size: number; bytes: Buffer }
/** `media`: a photo with the DM (these bytes, or a few random ones). */
export interface CustomerDm { from: Partial<XUser> & { id: string }; text: string; media?: boolean | { bytes: Buffer; type: string } }

/** Per-account windows in the spirit of X's 15-minute per-user limits; the numbers are illustrative, not X's published ones (those vary by access tier). Tests shrink them. */
const DEFAULT_LIMITS: Record<XEndpoint, { limit: number; windowSeconds: number }> = {
  users_me: { limit: 75, windowSeconds: 900 },
  dm_events: { limit: 300, windowSeconds: 900 },
  dm_send: { limit: 200, windowSeconds: 900 },
  media_upload: { limit: 500, windowSeconds: 900 },
};
/** The one-shot upload's media types (docs.x.com/x-api/media/upload-media); images up to 5 MB (best-practices). */
const ONE_SHOT_TYPES = new Set(['image/jpeg', 'image/pjpeg', 'image/png', 'image/webp', 'image/bmp', 'image/tiff', 'text/srt', 'text/vtt']);
const ONE_SHOT_CATEGORIES = new Set(['tweet_image', 'dm_image', 'subtitles']);
const IMAGE_MAX_BYTES = 5 * 1024 ** 2;
const TIMESTAMP_SKEW_S = 300;

interface Window { resetAtMs: number; used: number }

export class XFake {
  readonly baseUrl: string;
  readonly world = new XWorld();
  private readonly limits = new Map<string, { limit: number; windowSeconds: number }>();
  private readonly windows = new Map<string, Window>();
  private readonly failures = new Map<XEndpoint, XFailure[]>();
  private readonly delays: Array<{ endpoint: XEndpoint; ms: number; when: (query: Record<string, string>, accountId?: string) => boolean }> = [];
  private readonly nonces = new Set<string>();
  private readonly log: XCall[] = [];
  private readonly sent: XSentDm[] = [];
  private readonly uploads = new Map<string, XUploaded & { accountId: string }>();
  /** Customers' DM files, served as ton.twitter.com does, to the account they were sent to. */
  private readonly dmMedia = new Map<string, { accountId: string; bytes: Buffer; type: string }>();
  private pageSize = 100;

  private constructor(private readonly server: FakeServer) {
    this.baseUrl = server.baseUrl;
  }

  static async start(opts: { port?: number; host?: string } = {}): Promise<XFake> {
    let fake: XFake | undefined;
    const server = await listenFake(opts, (req, res) => fake!.handle(req, res), (message) => ({ error: message }));
    fake = new XFake(server);
    return fake;
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  // --- what tests and the control API drive ------------------------------------------

  createAccount(opts: { username?: string; name?: string } = {}): XAccount { return this.world.createAccount(opts); }
  revoke(accountId: string): void { this.world.account(accountId).revoked = true; }
  /** New access token pair for the account, as regenerating it in X's portal does; the old pair stops working. */
  rotateCredentials(accountId: string): XAccount['credentials'] { return this.world.rotate(accountId); }
  /** X caps max_results per request; a smaller cap here makes paging visible with few DMs. */
  setPageSize(n: number): void { this.pageSize = n; }
  /** The window of `endpoint`, for one account or (without one) every account without its own. */
  setRateLimit(endpoint: XEndpoint, limit: number, windowSeconds: number, accountId?: string): void {
    this.limits.set(accountId ? `${endpoint}:${accountId}` : endpoint, { limit, windowSeconds });
    for (const key of [...this.windows.keys()]) if (key.startsWith(accountId ? `${endpoint}:${accountId}` : `${endpoint}:`)) this.windows.delete(key);
  }
  failNext(endpoint: XEndpoint, failure: XFailure, times = 1): void {
    this.failures.set(endpoint, [...(this.failures.get(endpoint) ?? []), ...Array<XFailure>(times).fill(failure)]);
  }
  /** Holds the next answer of `endpoint` (whose query passes `when`) back this long: a slow X, or a poll to crash a worker in. */
  delayNext(endpoint: XEndpoint, ms: number, when: (query: Record<string, string>, accountId?: string) => boolean = () => true): void {
    this.delays.push({ endpoint, ms, when });
  }
  calls(endpoint?: XEndpoint, accountId?: string): XCall[] {
    return this.log.filter((c) => (!endpoint || c.endpoint === endpoint) && (!accountId || c.accountId === accountId));
  }
  sentMessages(accountId?: string): XSentDm[] { return this.sent.filter((m) => !accountId || m.accountId === accountId).map((m) => ({ ...m })); }

  /** A customer DMs the account: kept for polling, and posted to the webhook when `via` says so (X keeps it either way). */
  async customerSends(accountId: string, dm: CustomerDm, via: 'poll' | 'webhook' = 'poll'): Promise<{ event: DmEvent; payload: object; delivery?: { status: number; body: string } }> {
    const account = this.world.account(accountId);
    this.world.upsertUser({ id: dm.from.id, name: dm.from.name ?? 'Customer', username: dm.from.username ?? `customer_${dm.from.id.slice(-4)}` });
    let media: XMedia | undefined;
    if (dm.media) {
      const id = this.world.nextId();
      const file = typeof dm.media === 'object' ? dm.media : { bytes: randomBytes(2048), type: 'image/jpeg' };
      this.dmMedia.set(id, { accountId, ...file });
      // Like X's DM media URLs (ton.twitter.com/1.1/ton/data/dm/<dm id>/<media id>/<name>), on this fake.
      media = { id, type: 'photo', url: `${this.baseUrl}/1.1/ton/data/dm/${id}/${randomBytes(6).toString('base64url')}.jpg` };
    }
    const event = this.world.addDm({ senderId: dm.from.id, recipientId: account.id, text: dm.text, media });
    const payload = accountActivityDm(account.id, event, this.world.users);
    const delivery = via === 'webhook' ? await this.deliver(accountId, payload) : undefined;
    return { event, payload, delivery };
  }

  async customerFollows(accountId: string, follower: XUser): Promise<{ status: number; body: string }> {
    const account = this.world.account(accountId);
    return this.deliver(accountId, accountActivityFollow(account.id, follower, account));
  }

  /** Registers the account's Account Activity webhook; X runs a CRC check first and refuses a URL that fails it. */
  async registerWebhook(accountId: string, url: string): Promise<void> {
    const account = this.world.account(accountId);
    // As X's look: base64 of a UUID.
    const token = Buffer.from(randomUUID()).toString('base64');
    const res = await fetch(`${url}${url.includes('?') ? '&' : '?'}crc_token=${encodeURIComponent(token)}`, { signal: AbortSignal.timeout(3000) });
    const body = (await res.json().catch(() => ({}))) as { response_token?: string };
    if (res.status !== 200 || body.response_token !== crcResponseToken(account.credentials.api_secret, token)) {
      throw new Error(`XFake: CRC check failed (HTTP ${res.status}, response_token ${JSON.stringify(body.response_token)})`);
    }
    account.webhookUrl = url;
  }

  /** POSTs a delivery as X does: JSON, signed with the consumer secret (or the given signature). */
  async deliver(accountId: string, payload: object, opts: { signature?: string; body?: string } = {}): Promise<{ status: number; body: string }> {
    const account = this.world.account(accountId);
    if (!account.webhookUrl) throw new Error(`XFake: account ${accountId} has no webhook registered`);
    const body = opts.body ?? JSON.stringify(payload);
    const signature = opts.signature ?? webhookSignature(account.credentials.api_secret, body);
    const res = await fetch(account.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, body: await res.text() };
  }

  // --- the API ------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'fake'}`);
    const rawBytes = await readBodyBytes(req);
    const raw = rawBytes.toString('utf8');
    if (url.pathname.startsWith('/_sandbox/')) return this.control(url, raw, res);
    const query = Object.fromEntries(url.searchParams);
    const tonMedia = /^\/1\.1\/ton\/data\/dm\/(\d+)\/[^/]+$/.exec(url.pathname);
    if (req.method === 'GET' && tonMedia) {
      const auth = this.authenticate(req, url);
      const file = this.dmMedia.get(tonMedia[1]);
      if (!auth) return sendJson(res, 401, UNAUTHORIZED);
      if (!file || file.accountId !== auth.account.id) return sendJson(res, 404, problem(404, 'Not Found Error', 'The requested resource could not be found.', 'https://api.twitter.com/2/problems/resource-not-found'));
      res.writeHead(200, { 'content-type': file.type, 'content-length': file.bytes.length });
      return void res.end(file.bytes);
    }
    const sendTo = /^\/2\/dm_conversations\/with\/([^/]+)\/messages$/.exec(url.pathname);
    const endpoint: XEndpoint | undefined =
      req.method === 'GET' && url.pathname === '/2/users/me' ? 'users_me'
        : req.method === 'GET' && url.pathname === '/2/dm_events' ? 'dm_events'
          : req.method === 'POST' && sendTo ? 'dm_send'
            : req.method === 'POST' && url.pathname === '/2/media/upload' ? 'media_upload' : undefined;
    if (!endpoint) {
      this.log.push({ endpoint: 'unknown', status: 404, at: Date.now(), query });
      return sendJson(res, 404, problem(404, 'Not Found Error', 'The requested resource could not be found.', 'https://api.twitter.com/2/problems/resource-not-found'));
    }
    const auth = this.authenticate(req, url);
    // A multipart body is read before the window is counted: the window's bookkeeping is synchronous.
    const form = endpoint === 'media_upload' && auth ? await multipart(String(req.headers['content-type'] ?? ''), rawBytes) : undefined;
    let reply: Reply;
    if (!auth) reply = { status: 401, body: UNAUTHORIZED };
    else if (endpoint === 'media_upload') reply = this.limited(endpoint, auth.account, () => this.upload(auth.account, form));
    else reply = this.limited(endpoint, auth.account, () => this.dispatch(endpoint, auth.account, auth.kind, url, raw, sendTo?.[1]));
    const remaining = reply.headers?.['x-rate-limit-remaining'];
    const reset = reply.headers?.['x-rate-limit-reset'];
    this.log.push({
      endpoint, accountId: auth?.account.id, status: reply.status, at: Date.now(), query, auth: auth?.kind,
      ...(remaining !== undefined ? { remaining: Number(remaining), resetAtMs: Number(reset) * 1000 } : {}),
    });
    const i = this.delays.findIndex((d) => d.endpoint === endpoint && d.when(query, auth?.account.id));
    if (i >= 0) await new Promise((r) => setTimeout(r, this.delays.splice(i, 1)[0].ms));
    if (!res.destroyed) sendJson(res, reply.status, reply.body, reply.headers);
  }

  private authenticate(req: http.IncomingMessage, url: URL): { account: XAccount; kind: 'oauth1' | 'oauth2' } | undefined {
    const header = String(req.headers.authorization ?? '');
    const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (bearer) {
      const account = this.world.byBearer(bearer);
      return account && !account.revoked ? { account, kind: 'oauth2' } : undefined;
    }
    const p = parseOAuth1Header(header);
    if (!p?.oauth_signature || p.oauth_signature_method !== 'HMAC-SHA1' || !p.oauth_nonce) return undefined;
    const account = this.world.byConsumerAndToken(p.oauth_consumer_key ?? '', p.oauth_token ?? '');
    if (!account || account.revoked) return undefined;
    if (Math.abs(Number(p.oauth_timestamp) - Date.now() / 1000) > TIMESTAMP_SKEW_S) return undefined;
    const nonceKey = `${p.oauth_consumer_key}:${p.oauth_timestamp}:${p.oauth_nonce}`;
    if (this.nonces.has(nonceKey)) return undefined; // a replayed request
    const { oauth_signature: given, realm: _realm, ...signed } = p;
    const base = signatureBaseString(req.method ?? 'GET', url, [...url.searchParams, ...Object.entries(signed)]);
    const expected = hmacSha1(base, account.credentials.api_secret, account.credentials.access_token_secret);
    const ok = given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
    if (!ok) return undefined;
    this.nonces.add(nonceKey);
    return { account, kind: 'oauth1' };
  }

  /** Scripted failures first, then the account's window for this endpoint; headers on every answer. */
  private limited(endpoint: XEndpoint, account: XAccount, run: () => Reply): Reply {
    const scripted = this.failures.get(endpoint)?.shift();
    const key = `${endpoint}:${account.id}`;
    const { limit, windowSeconds } = this.limits.get(key) ?? this.limits.get(endpoint) ?? DEFAULT_LIMITS[endpoint];
    const now = Date.now();
    let w = this.windows.get(key);
    if (!w || now >= w.resetAtMs) this.windows.set(key, (w = { resetAtMs: Math.ceil((now + windowSeconds * 1000) / 1000) * 1000, used: 0 }));
    const headers = (remaining: number, resetAtMs = w.resetAtMs) => ({
      'x-rate-limit-limit': String(limit),
      'x-rate-limit-remaining': String(remaining),
      'x-rate-limit-reset': String(Math.ceil(resetAtMs / 1000)),
    });
    if (scripted?.kind === 'rate_limit') {
      return { ...tooMany(), headers: headers(0, now + scripted.resetInSeconds * 1000) };
    }
    if (w.used >= limit) return { ...tooMany(), headers: headers(0) };
    w.used++;
    const reply = scripted ? failureReply(scripted) : run();
    return { ...reply, headers: { ...headers(limit - w.used), ...reply.headers } };
  }

  private dispatch(endpoint: XEndpoint, account: XAccount, auth: 'oauth1' | 'oauth2', url: URL, raw: string, participantId?: string): Reply {
    if (endpoint === 'users_me') return { status: 200, body: { data: { id: account.id, name: account.name, username: account.username } } };
    if (endpoint === 'dm_events') return this.dmEvents(account, url.searchParams);
    let body: { text?: unknown; attachments?: unknown };
    try { body = JSON.parse(raw || '{}'); } catch { return invalid('Request body is not valid JSON.'); }
    const text = typeof body.text === 'string' ? body.text : '';
    if (!text.trim() && !body.attachments) return invalid('One of text or attachments is required.');
    if (text.length > 10_000) return invalid('text must be at most 10000 characters.');
    let media: (XUploaded & { accountId: string }) | undefined;
    if (body.attachments !== undefined) {
      const list = body.attachments;
      // A DM carries one media (docs.x.com DM "attachments": an array of one {media_id}).
      if (!Array.isArray(list) || list.length !== 1 || typeof list[0]?.media_id !== 'string') return invalid('attachments must hold exactly one {"media_id"}.');
      media = this.uploads.get(list[0].media_id);
      if (!media || media.accountId !== account.id) return invalid(`The media_id [${list[0].media_id}] is not valid for this user.`);
      if (!media.category.startsWith('dm_')) return invalid(`The media_id [${media.mediaId}] was not uploaded for DMs (media_category ${media.category}).`);
    }
    const to = decodeURIComponent(participantId ?? '');
    if (!/^\d{1,19}$/.test(to)) return invalid(`The \`participant_id\` query parameter value [${to}] is not valid`);
    const event = this.world.addDm({ senderId: account.id, recipientId: to, text });
    const { accountId: _owner, ...file } = media ?? { accountId: '' };
    this.sent.push({ accountId: account.id, participantId: to, text, eventId: event.id, auth, at: Date.now(), ...(media ? { media: file as XUploaded } : {}) });
    // X echoes the account's own DMs to its webhook too (aaa-dm-echo-own-message.json).
    if (account.webhookUrl) void this.deliver(account.id, accountActivityDm(account.id, event, this.world.users)).catch(() => undefined);
    return { status: 201, body: { data: { dm_conversation_id: conversationId(account.id, to), dm_event_id: event.id } } };
  }

  /** POST /2/media/upload, the one-shot form: multipart media, media_category, media_type. */
  private upload(account: XAccount, form: Map<string, string | { name: string; type: string; bytes: Buffer }> | undefined): Reply {
    if (!form) return invalid('The request body must be multipart/form-data.');
    const file = form.get('media');
    const category = form.get('media_category');
    if (typeof file !== 'object') return invalid('The `media` field is required.');
    if (typeof category !== 'string' || !ONE_SHOT_CATEGORIES.has(category)) return invalid(`The \`media_category\` value [${String(category ?? '')}] is not valid for a one-shot upload.`);
    const type = (typeof form.get('media_type') === 'string' ? String(form.get('media_type')) : file.type).toLowerCase();
    if (!ONE_SHOT_TYPES.has(type)) return invalid(`The \`media_type\` value [${type}] is not valid for a one-shot upload.`);
    if (type.startsWith('image/') && file.bytes.length > IMAGE_MAX_BYTES) return invalid(`File size exceeds ${IMAGE_MAX_BYTES} bytes.`);
    const mediaId = this.world.nextId();
    this.uploads.set(mediaId, { accountId: account.id, mediaId, category, type, name: file.name, size: file.bytes.length, bytes: file.bytes });
    return { status: 200, body: { data: { id: mediaId, media_key: `3_${mediaId}`, size: file.bytes.length, expires_after_secs: 86_400 } } };
  }

  private dmEvents(account: XAccount, q: URLSearchParams): Reply {
    const max = q.has('max_results') ? Number(q.get('max_results')) : 100;
    if (!Number.isInteger(max) || max < 1 || max > 100) return invalid(`The \`max_results\` query parameter value [${q.get('max_results')}] is not between 1 and 100`);
    let events = this.world.eventsOf(account.id);
    const token = q.get('pagination_token');
    if (token) {
      const before = Buffer.from(token, 'base64url').toString();
      if (!/^\d+$/.test(before)) return invalid(`The \`pagination_token\` query parameter value [${token}] is not valid`);
      events = events.filter((e) => BigInt(e.id) < BigInt(before));
    }
    const page = events.slice(0, Math.min(max, this.pageSize));
    const more = events.length > page.length;
    const fields = new Set((q.get('dm_event.fields') ?? '').split(',').filter(Boolean));
    const expansions = new Set((q.get('expansions') ?? '').split(',').filter(Boolean));
    const meta = { result_count: page.length, ...(more ? { next_token: Buffer.from(page[page.length - 1].id).toString('base64url') } : {}) };
    if (page.length === 0) return { status: 200, body: { meta } };
    const includes: Record<string, unknown> = {};
    if (expansions.has('sender_id')) {
      includes.users = [...new Set(page.map((e) => e.senderId))].map((id) => this.world.users.get(id) ?? { id, name: 'X user', username: `user${id.slice(-4)}` });
    }
    const media = page.flatMap((e) => (e.media ? [e.media] : []));
    if (expansions.has('attachments.media_keys') && media.length) includes.media = media.map((m) => ({ media_key: mediaKey(m), type: m.type, url: m.url }));
    return { status: 200, body: { data: page.map((e) => v2DmEvent(e, fields)), includes, meta } };
  }

  /** Lets a human drive the fake with curl; loopback only, so no auth. */
  private async control(url: URL, raw: string, res: http.ServerResponse): Promise<void> {
    let b: Record<string, any> = {};
    try { b = raw ? JSON.parse(raw) : {}; } catch { return sendJson(res, 400, { error: 'body must be JSON' }); }
    try {
      switch (url.pathname) {
        case '/_sandbox/accounts': {
          const a = this.createAccount({ username: b.username, name: b.name });
          return sendJson(res, 201, { user_id: a.id, username: a.username, credentials: a.credentials });
        }
        case '/_sandbox/customer-message': {
          if (!b.account_id || !b.user_id || typeof b.text !== 'string') return sendJson(res, 400, { error: 'account_id, user_id and text are required' });
          const from = { id: String(b.user_id), name: b.name, username: b.username };
          const r = await this.customerSends(String(b.account_id), { from, text: b.text, media: b.media === true }, b.via === 'webhook' ? 'webhook' : 'poll');
          return sendJson(res, 200, { event_id: r.event.id, delivery: r.delivery });
        }
        case '/_sandbox/webhook':
          await this.registerWebhook(String(b.account_id), String(b.url));
          return sendJson(res, 200, { ok: true });
        case '/_sandbox/fail-next':
          this.failNext(b.endpoint, { kind: b.kind, resetInSeconds: Number(b.reset_in_seconds ?? 5), status: b.status } as XFailure, Number(b.times ?? 1));
          return sendJson(res, 200, { ok: true });
        case '/_sandbox/sent':
          // Files as their name, type, size and digest: the bytes stay here.
          return sendJson(res, 200, this.sentMessages(url.searchParams.get('account_id') ?? undefined).map(({ media, ...m }) =>
            media ? { ...m, media: { media_id: media.mediaId, name: media.name, type: media.type, size: media.size, sha256: createHash('sha256').update(media.bytes).digest('hex') } } : m));
        default:
          return sendJson(res, 404, { error: 'unknown sandbox endpoint' });
      }
    } catch (err) {
      return sendJson(res, 409, { error: (err as Error).message });
    }
  }
}


/** A multipart/form-data body's fields and files, as undici reads it; undefined when it is not one. */
async function multipart(contentType: string, body: Buffer): Promise<Map<string, string | { name: string; type: string; bytes: Buffer }> | undefined> {
  if (!contentType.startsWith('multipart/form-data')) return undefined;
  const form = await new Response(new Uint8Array(body), { headers: { 'content-type': contentType } }).formData().catch(() => undefined);
  if (!form) return undefined;
  const out = new Map<string, string | { name: string; type: string; bytes: Buffer }>();
  // Iterated as undici gives it (the build's lib types FormData without its iterator).
  for (const [k, v] of form as unknown as Iterable<[string, string | File]>) {
    out.set(k, typeof v === 'string' ? v : { name: v.name, type: v.type, bytes: Buffer.from(await v.arrayBuffer()) });
  }
  return out;
}
