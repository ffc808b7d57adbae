/**
 * Local fake of the Telegram Bot API for integration tests and offline trials.
 * Answers mirror the recorded fixtures (shared/fixtures/platforms/telegram) and, where the
 * fixtures are silent, tdlib/telegram-bot-api's Client.cpp (wording of errors, which keys
 * getWebhookInfo omits, "Webhook is already set/deleted", missing url = delete).
 */
import http from 'node:http';
import { listenFake, readBodyBytes, sendJson, type FakeServer } from './http';
import { createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

export interface TelegramFakeOptions {
  port?: number;
  host?: string;
  /** Telegram only accepts https on ports 443/80/88/8443; a local PingBack listens on plain http. */
  allowHttpWebhooks?: boolean;
}
export type TelegramFailure =
  | { kind: 'rate_limit'; retryAfter: number }
  | { kind: 'server_error'; status?: number }
  | { kind: 'blocked' }
  | { kind: 'chat_not_found' }
  | { kind: 'unauthorized' };
export interface SentMessage { token: string; chat_id: string; text: string; message_id: number; reply_to_message_id?: number; at: number; file?: SentFile }
/** A file a bot uploaded with sendPhoto, sendDocument, sendVideo or sendAudio; `text` is then its caption. */
export interface SentFile { method: string; name: string; type: string; size: number; bytes: Buffer }
type Uploads = Map<string, { name: string; type: string; bytes: Buffer }>;
export interface ApiCall { token: string; method: string; params: Record<string, unknown>; status: number }
export interface CustomerMessage {
  chatId: number; firstName?: string; lastName?: string; username?: string; text?: string; caption?: string;
  /** A photo (these JPEG bytes, or a few random ones), kept for the bot to download (getFile). */
  photo?: boolean | { bytes: Buffer };
  /** A file sent as a document. */
  document?: { bytes: Buffer; name: string; type: string };
}
/** What Bot API's getFile hands out: served at /file/bot<token>/<file_path> to that bot. */
interface KeptFile { botId: number; path: string; bytes: Buffer }
/** Bots download files up to 20 MB (core.telegram.org/bots/api#getfile). */
const DOWNLOAD_MAX_BYTES = 20 * 1024 ** 2;

const TOKEN_RE = /^\d{1,20}:[A-Za-z0-9_-]{30,64}$/;
const WEBHOOK_PORTS = new Set(['443', '80', '88', '8443']);
const MAX_TEXT = 4096;
const DELIVERY_TIMEOUT_MS = 10_000;
const WEBHOOK_CONFLICT = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first";

type Params = Record<string, unknown>;
interface Reply { status: number; body: object; headers?: Record<string, string> }
interface Chat { id: number; first_name: string; last_name?: string; username?: string; type: 'private' }
interface ChatState { chat: Chat; lastMessageId: number; messages: Map<number, object> }
interface Webhook { url: string; secret_token?: string; max_connections: number }
interface Bot {
  id: number;
  webhook?: Webhook;
  allowedUpdates?: string[]; // outlives the webhook, as in Telegram (it also governs getUpdates)
  lastError?: { date: number; message: string };
  lastUpdateId: number;
  chats: Map<string, ChatState>;
}

const ok = (result: unknown, description?: string): Reply => ({
  status: 200,
  body: { ok: true, result, ...(description && { description }) },
});
const fail = (code: number, description: string): Reply => ({ status: code, body: { ok: false, error_code: code, description } });
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Telegram reads every parameter as a string, whether it came as JSON, form or query. */
function arg(p: Params, name: string): string {
  const v = p[name];
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
function jsonArg(p: Params, name: string): unknown {
  const v = p[name];
  if (typeof v !== 'string') return v;
  try { return JSON.parse(v); } catch { return undefined; }
}
/** "0042" and 42 address the same chat. */
const chatKey = (raw: string) => (/^-?\d+$/.test(raw) ? String(BigInt(raw)) : raw);
const newChat = (id: number, first_name: string): Chat => ({ id, first_name, type: 'private' });

function failureReply(f: TelegramFailure): Reply {
  switch (f.kind) {
    case 'rate_limit': {
      const { status, body } = fail(429, `Too Many Requests: retry after ${f.retryAfter}`);
      return { status, body: { ...body, parameters: { retry_after: f.retryAfter } }, headers: { 'retry-after': String(f.retryAfter) } };
    }
    case 'server_error': return fail(f.status ?? 502, http.STATUS_CODES[f.status ?? 502] ?? 'Server Error');
    case 'blocked': return fail(403, 'Forbidden: bot was blocked by the user');
    case 'chat_not_found': return fail(400, 'Bad Request: chat not found');
    case 'unauthorized': return fail(401, 'Unauthorized');
  }
}

function photoSizes(): Array<{ file_id: string; file_unique_id: string; file_size: number; width: number; height: number }> {
  const unique = randomBytes(9).toString('base64url');
  return [[90, 67], [320, 240], [800, 600], [1280, 960]].map(([width, height], i) => ({
    file_id: `AgACAgIAAxkBAA${randomBytes(48).toString('base64url')}`,
    file_unique_id: `AQAD${unique}${'smxy'[i]}`,
    file_size: Math.round(width * height * 0.12),
    width,
    height,
  }));
}

export class TelegramFake {
  readonly baseUrl: string;
  private readonly bots = new Map<string, Bot>(); // keyed by bot id: a new token for the same bot keeps its state
  private readonly revoked = new Set<string>();
  private readonly failures = new Map<string, TelegramFailure[]>();
  private readonly sent: SentMessage[] = [];
  private readonly log: ApiCall[] = [];
  private latencyMs = 0;
  private readonly answerHooks: Array<{ method: string; run: () => Promise<void> }> = [];
  private readonly files = new Map<string, KeptFile>();
  private readonly failureRates = new Map<string, Array<{ failure: TelegramFailure; p: number }>>();

  private constructor(private readonly server: FakeServer, private readonly allowHttp: boolean) {
    this.baseUrl = server.baseUrl;
  }

  static async start(opts: TelegramFakeOptions = {}): Promise<TelegramFake> {
    let fake: TelegramFake | undefined;
    const server = await listenFake(opts, (req, res) => fake!.handle(req, res), (message) => ({ error: message }));
    fake = new TelegramFake(server, opts.allowHttpWebhooks ?? false);
    return fake;
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  revokeToken(token: string): void { this.revoked.add(token); }

  /** Runs `hook` once, after the next `method` call was taken and before it is answered: a fault (a database cut) at the worst moment. */
  onNextAnswer(method: string, hook: () => Promise<void>): void {
    this.answerHooks.push({ method: method.toLowerCase(), run: hook });
  }

  /**
   * Makes a share of a method's calls fail, each call on its own (for load tests: a
   * queue of scripted failures would pile up on whichever conversation retries first).
   */
  setFailureRate(method: string, failure: TelegramFailure, probability: number): void {
    const key = method.toLowerCase();
    const rest = (this.failureRates.get(key) ?? []).filter((r) => r.failure.kind !== failure.kind);
    this.failureRates.set(key, probability > 0 ? [...rest, { failure, p: probability }] : rest);
  }

  /** Delays every Bot API answer (after the call took effect), as a slow network does: for crash and load tests. */
  setLatency(ms: number): void { this.latencyMs = ms; }

  failNext(method: string, failure: TelegramFailure, times = 1): void {
    const key = method.toLowerCase();
    this.failures.set(key, [...(this.failures.get(key) ?? []), ...Array<TelegramFailure>(times).fill(failure)]);
  }

  sentMessages(token?: string): SentMessage[] {
    return this.sent.filter((m) => token === undefined || m.token === token).map((m) => ({ ...m }));
  }

  calls(method?: string): ApiCall[] {
    return this.log.filter((c) => method === undefined || c.method.toLowerCase() === method.toLowerCase());
  }

  webhookInfo(token: string): { url: string; secret_token?: string; allowed_updates?: string[] } | undefined {
    const bot = this.bot(token);
    if (!bot.webhook) return undefined;
    const { url, secret_token } = bot.webhook;
    return { url, ...(secret_token && { secret_token }), ...(bot.allowedUpdates && { allowed_updates: [...bot.allowedUpdates] }) };
  }

  async customerSends(token: string, msg: CustomerMessage): Promise<{ status: number; update: object; body: string }> {
    const bot = this.bot(token);
    if (!bot.webhook) throw new Error(`TelegramFake: no webhook is set for bot ${bot.id}`);
    if (!msg.photo && !msg.text && !msg.document) throw new Error('TelegramFake: a customer message needs text, a photo or a document');
    const key = String(msg.chatId);
    const state: ChatState = bot.chats.get(key) ?? { chat: newChat(msg.chatId, 'Customer'), lastMessageId: 0, messages: new Map() };
    if (msg.firstName) state.chat = newChat(msg.chatId, msg.firstName);
    if (msg.lastName) state.chat.last_name = msg.lastName;
    if (msg.username) state.chat.username = msg.username;
    bot.chats.set(key, state);
    const { type: _type, ...person } = state.chat;
    const message = {
      message_id: ++state.lastMessageId,
      from: { ...person, is_bot: false, language_code: 'en' },
      chat: { ...state.chat },
      date: nowSeconds(),
      ...(msg.photo
        ? { photo: this.keep(bot, photoSizes(), typeof msg.photo === 'object' ? msg.photo.bytes : randomBytes(4096), 'photos/file.jpg'), ...(msg.caption && { caption: msg.caption }) }
        : msg.document
          ? { document: this.keep(bot, [{ file_id: `BQACAgIAAxkBAA${randomBytes(48).toString('base64url')}`, file_unique_id: `AgAD${randomBytes(9).toString('base64url')}`, file_name: msg.document.name, mime_type: msg.document.type, file_size: msg.document.bytes.length }], msg.document.bytes, `documents/${msg.document.name}`)[0], ...(msg.caption && { caption: msg.caption }) }
          : { text: msg.text }),
    };
    state.messages.set(message.message_id, message);
    if (bot.allowedUpdates && !bot.allowedUpdates.includes('message')) {
      throw new Error('TelegramFake: allowed_updates excludes "message", so Telegram would not deliver this');
    }
    const update = { update_id: ++bot.lastUpdateId, message };
    return { ...(await this.deliver(bot, update)), update };
  }

  /** Keeps the bytes behind each of these file objects (a photo's sizes share them), for getFile. */
  private keep<T extends { file_id: string }>(bot: Bot, objects: T[], bytes: Buffer, path: string): T[] {
    for (const o of objects) this.files.set(o.file_id, { botId: bot.id, path: path.replace('file', `file_${this.files.size}`), bytes });
    return objects;
  }

  async redeliver(token: string, update: object): Promise<{ status: number; body: string }> {
    const bot = this.bot(token);
    if (!bot.webhook) throw new Error(`TelegramFake: no webhook is set for bot ${bot.id}`);
    return this.deliver(bot, update);
  }

  private async deliver(bot: Bot, update: object): Promise<{ status: number; body: string }> {
    const { url, secret_token } = bot.webhook!;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (secret_token) headers['x-telegram-bot-api-secret-token'] = secret_token;
    let res: Response;
    try {
      const signal = AbortSignal.timeout(DELIVERY_TIMEOUT_MS);
      res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(update), signal });
    } catch (err) {
      // Wording as Telegram shows it in getWebhookInfo.last_error_message.
      const code = (err as { cause?: { code?: string } }).cause?.code;
      const why = (err as Error).name === 'TimeoutError' ? 'Read timeout expired'
        : code === 'ECONNREFUSED' ? 'Connection refused' : `Connection failed: ${code ?? (err as Error).message}`;
      bot.lastError = { date: nowSeconds(), message: why };
      throw new Error(`TelegramFake: webhook delivery failed: ${why}`);
    }
    const body = await res.text();
    const message = `Wrong response from the webhook: ${res.status} ${res.statusText}`;
    if (!res.ok) bot.lastError = { date: nowSeconds(), message };
    return { status: res.status, body };
  }

  private bot(token: string): Bot {
    const id = token.split(':')[0];
    let bot = this.bots.get(id);
    if (!bot) {
      // Ids start somewhere arbitrary, as Telegram's do, so nothing may assume they start at 1.
      bot = { id: Number(id), lastUpdateId: 100_000_000 + Math.floor(Math.random() * 800_000_000), chats: new Map() };
      this.bots.set(id, bot);
    }
    return bot;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    // Uploads go up to Telegram's 50 MB (and a little framing); sendFile answers 413 past that.
    const rawBytes = await readBodyBytes(req, 52 << 20);
    const raw = rawBytes.toString('utf8');
    if (url.pathname.startsWith('/_sandbox/')) return this.control(url, raw, res);
    // A file getFile handed out: https://api.telegram.org/file/bot<token>/<file_path>.
    const download = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (download && req.method === 'GET') {
      const kept = TOKEN_RE.test(download[1]) && !this.revoked.has(download[1]) ? [...this.files.values()].find((f) => f.botId === this.bot(download[1]).id && f.path === download[2]) : undefined;
      if (!kept) return sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': kept.bytes.length });
      return void res.end(kept.bytes);
    }
    const route = /^\/bot([^/]*)\/([^/]*)$/.exec(url.pathname);
    const token = route?.[1] ?? '';
    const method = route?.[2] ?? '';
    let params: Params = Object.fromEntries(url.searchParams); // Telegram merges query and body
    const type = String(req.headers['content-type'] ?? '');
    const json = raw.length && type.startsWith('application/json') ? safeJson(raw) : {};
    if (json && typeof json === 'object' && !Array.isArray(json)) params = { ...params, ...(json as Params) };
    if (raw.length && type.startsWith('application/x-www-form-urlencoded')) {
      Object.assign(params, Object.fromEntries(new URLSearchParams(raw)));
    }
    // Uploads (sendPhoto, sendDocument, …) come as multipart/form-data: fields are parameters, files are files.
    const uploads: Uploads = new Map();
    if (type.startsWith('multipart/form-data')) {
      const form = await new Response(new Uint8Array(rawBytes), { headers: { 'content-type': type } }).formData().catch(() => undefined);
      // Iterated as undici gives it (the build's lib types FormData without its iterator).
      for (const [k, v] of (form ?? []) as Iterable<[string, string | File]>) {
        if (typeof v === 'string') params[k] = v;
        else uploads.set(k, { name: v.name, type: v.type, bytes: Buffer.from(await v.arrayBuffer()) });
      }
    }
    let reply: Reply;
    if (!route || !TOKEN_RE.test(token)) reply = fail(404, 'Not Found');
    else if (this.revoked.has(token)) reply = fail(401, 'Unauthorized');
    else if (json === undefined) reply = fail(400, "Bad Request: can't parse JSON object");
    else reply = this.dispatch(token, method, params, uploads);
    this.log.push({ token, method, params, status: reply.status });
    const hook = this.answerHooks.findIndex((h) => h.method === method.toLowerCase());
    if (hook >= 0) await this.answerHooks.splice(hook, 1)[0].run();
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    sendJson(res, reply.status, reply.body, reply.headers);
  }

  private dispatch(token: string, method: string, p: Params, uploads: Uploads = new Map()): Reply {
    const name = method.toLowerCase(); // Telegram matches method names case-insensitively
    const scripted = this.failures.get(name)?.shift() ?? this.randomFailure(name);
    if (scripted) return failureReply(scripted);
    const bot = this.bot(token);
    const me = { id: bot.id, is_bot: true, first_name: 'PingBack Sandbox Bot', username: `sandbox_${bot.id}_bot` };
    switch (name) {
      case 'getme': return ok({ ...me, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false });
      case 'setwebhook': return this.setWebhook(bot, p);
      case 'deletewebhook': return this.removeWebhook(bot);
      case 'getwebhookinfo': return ok(this.webhookInfoResult(bot));
      case 'getupdates': // updates only ever go to the webhook here, so there is never anything to fetch
        return bot.webhook ? fail(409, WEBHOOK_CONFLICT) : ok([]);
      case 'getfile': {
        const kept = this.files.get(arg(p, 'file_id'));
        if (!kept || kept.botId !== bot.id) return fail(400, 'Bad Request: invalid file_id');
        if (kept.bytes.length > DOWNLOAD_MAX_BYTES) return fail(400, 'Bad Request: file is too big');
        return ok({ file_id: arg(p, 'file_id'), file_unique_id: `u${kept.path.length}`, file_size: kept.bytes.length, file_path: kept.path });
      }
      case 'sendmessage': return this.sendMessage(token, bot, me, p);
      case 'sendphoto': return this.sendFile(token, bot, me, p, uploads, 'photo');
      case 'senddocument': return this.sendFile(token, bot, me, p, uploads, 'document');
      case 'sendvideo': return this.sendFile(token, bot, me, p, uploads, 'video');
      case 'sendaudio': return this.sendFile(token, bot, me, p, uploads, 'audio');
      default: return fail(404, 'Not Found: method not found');
    }
  }

  private randomFailure(method: string): TelegramFailure | undefined {
    let roll = Math.random();
    for (const { failure, p } of this.failureRates.get(method) ?? []) {
      if (roll < p) return failure;
      roll -= p;
    }
    return undefined;
  }

  private setWebhook(bot: Bot, p: Params): Reply {
    const url = arg(p, 'url');
    if (!url) return this.removeWebhook(bot); // Telegram treats a missing url like an empty one
    const secret = arg(p, 'secret_token');
    const maxConnections = Math.min(100, Math.max(1, Number.parseInt(arg(p, 'max_connections'), 10) || 40));
    const allowed = arg(p, 'allowed_updates') ? jsonArg(p, 'allowed_updates') : undefined; // omitted: keep previous
    const applyAllowed = () => {
      if (Array.isArray(allowed)) bot.allowedUpdates = allowed.length ? allowed.map(String) : undefined;
    };
    const current = bot.webhook;
    if (current?.url === url && (current.secret_token ?? '') === secret && current.max_connections === maxConnections) {
      applyAllowed();
      return ok(true, 'Webhook is already set');
    }
    let parsed: URL;
    try { parsed = new URL(url); } catch { return fail(400, 'Bad Request: invalid webhook URL specified'); }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return fail(400, 'Bad Request: invalid webhook URL specified');
    if (secret.length > 256) return fail(400, 'Bad Request: secret token is too long');
    if (secret && !/^[A-Za-z0-9_-]+$/.test(secret)) return fail(400, 'Bad Request: secret token contains unallowed characters');
    if (!this.allowHttp) {
      if (parsed.protocol !== 'https:') return fail(400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
      if (!WEBHOOK_PORTS.has(parsed.port || '443')) {
        return fail(400, 'Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443');
      }
    }
    bot.webhook = { url, ...(secret && { secret_token: secret }), max_connections: maxConnections };
    bot.lastError = undefined; // Telegram forgets delivery errors of the previous webhook
    applyAllowed();
    return ok(true, 'Webhook was set');
  }

  private removeWebhook(bot: Bot): Reply {
    const had = bot.webhook !== undefined;
    bot.webhook = undefined;
    bot.lastError = undefined;
    return ok(true, had ? 'Webhook was deleted' : 'Webhook is already deleted');
  }

  private webhookInfoResult(bot: Bot): object {
    const wh = bot.webhook;
    const host = wh ? new URL(wh.url).hostname.replace(/^\[|\]$/g, '') : '';
    const ip = isIP(host) ? host : host === 'localhost' ? '127.0.0.1' : '<unknown>'; // Telegram shows the resolved IP
    return {
      url: wh?.url ?? '',
      has_custom_certificate: false,
      pending_update_count: 0,
      ...(bot.lastError && { last_error_date: bot.lastError.date, last_error_message: bot.lastError.message }),
      ...(wh && { max_connections: wh.max_connections, ip_address: ip }),
      ...(bot.allowedUpdates && { allowed_updates: [...bot.allowedUpdates] }),
    };
  }

  private sendMessage(token: string, bot: Bot, me: object, p: Params): Reply {
    // Telegram validates the text before it looks the chat up.
    const text = arg(p, 'text');
    if (!text.trim()) return fail(400, 'Bad Request: message text is empty');
    if (text.length > MAX_TEXT) return fail(400, 'Bad Request: message is too long');
    const rawChat = arg(p, 'chat_id').trim();
    if (!rawChat) return fail(400, 'Bad Request: chat_id is empty');
    const key = chatKey(rawChat);
    const state = bot.chats.get(key);
    if (!state) return fail(400, 'Bad Request: chat not found');
    const replyParams = jsonArg(p, 'reply_parameters') as { message_id?: number; allow_sending_without_reply?: boolean } | undefined;
    const replyTo = Number(arg(p, 'reply_to_message_id') || replyParams?.message_id || 0);
    const replied = replyTo > 0 ? state.messages.get(replyTo) : undefined;
    const lenient = arg(p, 'allow_sending_without_reply') === 'true' || replyParams?.allow_sending_without_reply === true;
    if (replyTo > 0 && !replied && !lenient) return fail(400, 'Bad Request: message to be replied not found');
    const message = { message_id: ++state.lastMessageId, from: me, chat: { ...state.chat }, date: nowSeconds(), text };
    state.messages.set(message.message_id, message); // stored without reply_to_message: Telegram nests only one level
    const { message_id } = message;
    this.sent.push({ token, chat_id: key, text, message_id, ...(replied && { reply_to_message_id: replyTo }), at: Date.now() });
    const { text: _text, ...head } = message;
    return ok({ ...head, ...(replied && { reply_to_message: replied }), text });
  }

  /**
   * A file uploaded with its caption, as Telegram takes one: the upload is required here (file
   * ids and URLs of earlier files are not kept), photos up to 10 MB, anything up to 50 MB.
   */
  private sendFile(token: string, bot: Bot, me: object, p: Params, uploads: Uploads, field: 'photo' | 'document' | 'video' | 'audio'): Reply {
    const file = uploads.get(field);
    if (!file) return fail(400, `Bad Request: there is no ${field} in the request`);
    if (file.bytes.length > 50 * 1024 ** 2) return fail(413, 'Request Entity Too Large');
    if (field === 'photo' && file.bytes.length > 10 * 1024 ** 2) return fail(400, 'Bad Request: PHOTO_INVALID_DIMENSIONS');
    const caption = arg(p, 'caption');
    if (caption.length > 1024) return fail(400, 'Bad Request: message caption is too long');
    const key = chatKey(arg(p, 'chat_id').trim());
    const state = bot.chats.get(key);
    if (!state) return fail(400, 'Bad Request: chat not found');
    const message = { message_id: ++state.lastMessageId, from: me, chat: { ...state.chat }, date: nowSeconds(), ...(caption ? { caption } : {}) };
    state.messages.set(message.message_id, message);
    const sent: SentFile = { method: `send${field[0].toUpperCase()}${field.slice(1)}`, name: file.name, type: file.type, size: file.bytes.length, bytes: file.bytes };
    this.sent.push({ token, chat_id: key, text: caption, message_id: message.message_id, at: Date.now(), file: sent });
    const described = field === 'photo' ? { photo: [{ file_id: `ph_${message.message_id}`, file_unique_id: `u${message.message_id}`, width: 800, height: 600, file_size: file.bytes.length }] } : { [field]: { file_id: `f_${message.message_id}`, file_unique_id: `u${message.message_id}`, file_name: file.name, mime_type: file.type, file_size: file.bytes.length } };
    return ok({ ...message, ...described });
  }

  /** Lets a human drive the fake with curl; loopback only, so no auth. */
  private async control(url: URL, raw: string, res: http.ServerResponse): Promise<void> {
    const body = (safeJson(raw) ?? {}) as Record<string, unknown>;
    const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined);
    try {
      if (url.pathname === '/_sandbox/customer-message') {
        const token = str('token');
        const chatId = Number(body.chat_id);
        if (!token || !Number.isSafeInteger(chatId)) return sendJson(res, 400, { error: 'token and numeric chat_id are required' });
        const [text, firstName, lastName, username, caption] = ['text', 'first_name', 'last_name', 'username', 'caption'].map(str);
        const photo = body.photo === true;
        return sendJson(res, 200, await this.customerSends(token, { chatId, text, firstName, lastName, username, photo, caption }));
      }
      if (url.pathname === '/_sandbox/fail-next') {
        const method = str('method');
        const kind = str('kind');
        const kinds = ['rate_limit', 'server_error', 'blocked', 'chat_not_found', 'unauthorized'];
        if (!method || !kinds.includes(kind ?? '')) return sendJson(res, 400, { error: `method and kind (${kinds.join('|')}) are required` });
        const status = body.status === undefined ? undefined : Number(body.status);
        const failure = { kind, retryAfter: Number(body.retry_after ?? 1), status } as TelegramFailure;
        this.failNext(method, failure, body.times === undefined ? 1 : Number(body.times));
        return sendJson(res, 200, { ok: true });
      }
      if (url.pathname === '/_sandbox/sent') {
        // Files as their name, type, size and digest: the bytes stay here.
        const sent = this.sentMessages(url.searchParams.get('token') || undefined).map(({ file, ...m }) =>
          file ? { ...m, file: { method: file.method, name: file.name, type: file.type, size: file.size, sha256: createHash('sha256').update(file.bytes).digest('hex') } } : m,
        );
        return sendJson(res, 200, sent);
      }
      return sendJson(res, 404, { error: 'unknown sandbox endpoint' });
    } catch (err) {
      return sendJson(res, 409, { error: (err as Error).message });
    }
  }
}

function safeJson(raw: string): unknown {
  try { return JSON.parse(raw); } catch { return undefined; }
}

if (require.main === module) {
  TelegramFake.start({ port: Number(process.env.PORT ?? 8081), host: process.env.HOST, allowHttpWebhooks: true }).then(
    (fake) => console.log(`Telegram Bot API fake on ${fake.baseUrl}  (bots: ${fake.baseUrl}/bot<token>/<method>, control: /_sandbox/)`),
    (err: Error) => {
      console.error(`Telegram sandbox failed to start: ${err.message}`);
      process.exit(1);
    },
  );
}
