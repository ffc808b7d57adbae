/**
 * Local fake of Meta's Graph API for WhatsApp Cloud API and Instagram messaging, for
 * integration tests and offline trials. Graph side: send endpoints, media endpoints, the
 * number and Page lookups a token is checked with, Meta's error format and codes, the
 * 24-hour customer-service window (counted from the last message the fake delivered from
 * that customer). Customer side: signed webhooks shaped like Meta's
 * (shared/fixtures/platforms/{whatsapp,instagram}), and delivery statuses for what it
 * accepted. Control endpoints for curl are in meta-control.ts.
 */
import type http from 'node:http';
import { listenFake, readBodyBytes, type FakeServer } from './http';
import { randomBytes } from 'node:crypto';
import { handleControl, reply } from './meta-control';
import { igMessagingObject, IgCustomerEvent, MediaStore, sha256Base64, waMessageObject, WaCustomerMessage } from './meta-customer';
import {
  failureReply, GraphReply, graphError, igWebhook, MetaFailure, Platform, postWebhook, tokenExpired, unknownObject,
  WaBusinessNumber, waChange, wamid, waStatus, WaStatusName, waWebhook,
} from './meta-payloads';

export type { MetaFailure } from './meta-payloads';
export interface MetaFakeOptions {
  port?: number;
  host?: string;
  /** After each accepted WhatsApp send, report `sent` then `delivered` by webhook (the sandbox command does). */
  autoStatuses?: boolean;
  /** Echo each accepted Instagram send back by webhook (`is_echo`), as Instagram does. */
  echoes?: boolean;
  /** WhatsApp's 24-hour rule: refused at once (default) or accepted, then a `failed` status with 131047. */
  windowErrors?: 'response' | 'status';
}
export type Layout = 'one-change' | 'change-per-message' | 'entry-per-message';
export type StatusStep = WaStatusName | { status: 'failed'; error?: object };
export interface SentMessage { platform: Platform; from: string; to: string; text: string; id: string; replyTo?: string; template?: string; at: number; file?: SentMedia }
/** A file a WhatsApp message carried (uploaded to /media first); `text` is then its caption. */
export interface SentMedia { kind: string; name?: string; type: string; size: number; bytes: Buffer }
/** A message template of a WhatsApp Business Account, as Graph lists it. */
export interface FakeTemplate { name: string; language: string; status?: string; category?: string; components: Array<{ type: string; format?: string; text?: string }> }
export interface ApiCall { method: string; path: string; status: number; body?: unknown }
export interface Delivery { status: number; body: string; payload: object }

interface WaState extends WaBusinessNumber { accessToken: string; appSecret: string; callbackUrl?: string }
interface IgState { pageId: string; igAccountId: string; accessToken: string; appSecret: string; callbackUrl?: string }
interface Media { bytes: Buffer; mimeType: string; sha256: string; token?: string; name?: string }

const WINDOW_MS = 24 * 3600_000;
/** What WhatsApp's media store takes (developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types). */
const WA_MEDIA_TYPES = /^(audio\/(aac|mp4|mpeg|amr|ogg)|text\/plain|application\/(pdf|msword|vnd\.ms-excel|vnd\.ms-powerpoint|vnd\.openxmlformats-officedocument\.(wordprocessingml\.document|spreadsheetml\.sheet|presentationml\.presentation))|image\/(jpeg|png)|video\/(mp4|3gpp))$/;
const MAX_TEXT = 4096;
const digits = (n: number) => Array.from(randomBytes(n), (b) => String(b % 10)).join('').replace(/^0/, '1');

export class MetaFake {
  readonly baseUrl: string;
  private readonly numbers = new Map<string, WaState>();
  private readonly instagram = new Map<string, IgState>(); // by page id and by Instagram account id
  private readonly expiredTokens = new Map<string, number>();
  private readonly failures = new Map<string, MetaFailure[]>();
  private readonly sent: SentMessage[] = [];
  private readonly log: ApiCall[] = [];
  private readonly media = new Map<string, Media>();
  private readonly lastInbound = new Map<string, number>();
  private readonly templates = new Map<string, FakeTemplate[]>(); // by WhatsApp Business Account id
  private clockOffsetMs = 0;

  private constructor(private readonly server: FakeServer, private readonly opts: MetaFakeOptions) {
    this.baseUrl = server.baseUrl;
  }

  static async start(opts: MetaFakeOptions = {}): Promise<MetaFake> {
    let fake: MetaFake | undefined;
    const server = await listenFake(opts, (req, res) => fake!.handle(req, res), (message) => ({ error: { message } }));
    fake = new MetaFake(server, opts);
    return fake;
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  /** The fake's clock: moving it forward closes 24-hour windows and expires nothing else. */
  now(): number { return Date.now() + this.clockOffsetMs; }
  advanceClock(ms: number): void { this.clockOffsetMs += ms; }

  addWhatsappNumber(n: { phoneNumberId: string; accessToken: string; appSecret: string; displayPhoneNumber?: string; wabaId?: string }): WaBusinessNumber {
    const state: WaState = { displayPhoneNumber: `1555${digits(7)}`, wabaId: digits(15), ...this.numbers.get(n.phoneNumberId), ...defined(n) };
    this.numbers.set(n.phoneNumberId, state);
    return { phoneNumberId: state.phoneNumberId, displayPhoneNumber: state.displayPhoneNumber, wabaId: state.wabaId };
  }

  /** A template of the account's, approved unless `status` says otherwise (WhatsApp Manager's work). */
  addTemplate(wabaId: string, t: FakeTemplate): void {
    this.templates.set(wabaId, [...(this.templates.get(wabaId) ?? []).filter((x) => !(x.name === t.name && x.language === t.language)), { status: 'APPROVED', category: 'UTILITY', ...t }]);
  }

  addInstagramAccount(a: { pageId: string; accessToken: string; appSecret: string; igAccountId?: string }): { pageId: string; igAccountId: string } {
    const state: IgState = { igAccountId: `17841${digits(12)}`, ...this.instagram.get(a.pageId), ...defined(a) };
    this.instagram.set(state.pageId, state);
    this.instagram.set(state.igAccountId, state);
    return { pageId: state.pageId, igAccountId: state.igAccountId };
  }

  /** What saving the callback URL in the App Dashboard does: Meta's GET handshake, then webhooks go there. */
  async subscribe(id: string, callbackUrl: string, verifyToken: string): Promise<{ ok: boolean; status: number; body: string }> {
    const target = this.numbers.get(id) ?? this.instagram.get(id);
    if (!target) throw new Error(`MetaFake: no WhatsApp number or Instagram account ${id}; add it first`);
    const challenge = digits(10);
    const url = new URL(callbackUrl);
    url.searchParams.set('hub.mode', 'subscribe');
    url.searchParams.set('hub.challenge', challenge);
    url.searchParams.set('hub.verify_token', verifyToken);
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const body = await res.text();
    const ok = res.status === 200 && body === challenge;
    if (ok) target.callbackUrl = callbackUrl;
    return { ok, status: res.status, body };
  }

  expireToken(token: string): void { this.expiredTokens.set(token, this.now()); }

  /** The next `times` calls to `on` (send endpoints, or media endpoints) fail with Meta's answer for `kind`. */
  failNext(kind: MetaFailure, opts: { times?: number; on?: 'messages' | 'media' } = {}): void {
    const key = opts.on ?? 'messages';
    this.failures.set(key, [...(this.failures.get(key) ?? []), ...Array<MetaFailure>(opts.times ?? 1).fill(kind)]);
  }

  async customerSendsWhatsapp(phoneNumberId: string, input: WaCustomerMessage | WaCustomerMessage[], opts: { layout?: Layout } = {}): Promise<Delivery & { ids: string[] }> {
    const n = this.wa(phoneNumberId);
    const nowSeconds = Math.floor(this.now() / 1000);
    const msgs = (Array.isArray(input) ? input : [input]).map((m) => {
      const id = m.id ?? wamid();
      this.lastInbound.set(`${phoneNumberId}:${m.from}`, this.now());
      return { m, object: waMessageObject(m, { id, timestamp: nowSeconds, business: n, store: this.store(n.accessToken) }) };
    });
    const contact = (m: WaCustomerMessage) => ({ wa_id: m.from, name: m.name });
    const distinct = [...new Map(msgs.map(({ m }) => [m.from, contact(m)])).values()];
    const layout = opts.layout ?? 'one-change';
    const entries =
      layout === 'one-change'
        ? [{ wabaId: n.wabaId, changes: [waChange(n, { contacts: distinct, messages: msgs.map((x) => x.object) })] }]
        : layout === 'change-per-message'
          ? [{ wabaId: n.wabaId, changes: msgs.map((x) => waChange(n, { contacts: [contact(x.m)], messages: [x.object] })) }]
          : msgs.map((x) => ({ wabaId: n.wabaId, changes: [waChange(n, { contacts: [contact(x.m)], messages: [x.object] })] }));
    const payload = waWebhook(entries);
    return { ...(await this.deliver(phoneNumberId, payload)), ids: msgs.map((x) => (x.object as { id: string }).id) };
  }

  async customerSendsInstagram(id: string, input: IgCustomerEvent | IgCustomerEvent[]): Promise<Delivery & { mids: string[] }> {
    const a = this.ig(id);
    const events = (Array.isArray(input) ? input : [input]).map((e) => {
      const mid = e.mid ?? Buffer.from(`ig_message_item:1:IGMessageID:${a.igAccountId}:${digits(12)}`).toString('base64');
      // Only the customer's own messages open the window; reads, reactions and echoes do not.
      if (!['echo', 'read', 'reaction', 'unreact', 'unsend'].includes(e.kind ?? 'text')) this.lastInbound.set(`${a.pageId}:${e.from}`, this.now());
      return { mid, object: igMessagingObject(e, { mid, timestampMs: this.now(), igAccountId: a.igAccountId, store: this.store() }) };
    });
    const payload = igWebhook([{ igAccountId: a.igAccountId, timeMs: this.now() + 500, messaging: events.map((e) => e.object) }]);
    return { ...(await this.deliver(id, payload)), mids: events.map((e) => e.mid) };
  }

  /**
   * Delivery statuses for a message, one webhook each, in the order given (so out of
   * order is just another order). `to` addresses a wamid the fake never sent.
   */
  async sendStatuses(messageId: string, steps: StatusStep[], to?: { phoneNumberId: string; recipient: string }): Promise<Delivery[]> {
    const sent = this.sent.find((s) => s.platform === 'whatsapp' && s.id === messageId);
    const phoneNumberId = sent?.from ?? to?.phoneNumberId;
    const recipient = sent?.to ?? to?.recipient;
    if (!phoneNumberId || !recipient) throw new Error(`MetaFake: no sent WhatsApp message ${messageId}; pass the number and recipient`);
    const n = this.wa(phoneNumberId);
    const out: Delivery[] = [];
    for (const step of steps) {
      const s = typeof step === 'string' ? { status: step } : step;
      const status = waStatus(messageId, s.status, recipient, Math.floor(this.now() / 1000), 'error' in s ? s.error : undefined);
      const payload = waWebhook([{ wabaId: n.wabaId, changes: [waChange(n, { contacts: [{ wa_id: recipient }], statuses: [status] })] }]);
      out.push(await this.deliver(phoneNumberId, payload));
    }
    return out;
  }

  /** POSTs any payload to the callback of a number or account, signed with its app secret (or with `signature`). */
  async deliver(id: string, payload: object, opts: { signature?: string | null; body?: string } = {}): Promise<Delivery> {
    const target = this.numbers.get(id) ?? this.instagram.get(id);
    if (!target?.callbackUrl) throw new Error(`MetaFake: ${id} has no subscribed callback URL; call subscribe first`);
    return { ...(await postWebhook(target.callbackUrl, target.appSecret, payload, opts)), payload };
  }

  sentMessages(filter: { platform?: Platform; from?: string; to?: string } = {}): SentMessage[] {
    return this.sent.filter((s) => Object.entries(filter).every(([k, v]) => v === undefined || s[k as keyof SentMessage] === v)).map((s) => ({ ...s }));
  }

  calls(pathIncludes?: string): ApiCall[] {
    return this.log.filter((c) => pathIncludes === undefined || c.path.includes(pathIncludes));
  }

  private wa(id: string): WaState {
    const n = this.numbers.get(id);
    if (!n) throw new Error(`MetaFake: no WhatsApp number ${id}; call addWhatsappNumber first`);
    return n;
  }

  private ig(id: string): IgState {
    const a = this.instagram.get(id);
    if (!a) throw new Error(`MetaFake: no Instagram account ${id}; call addInstagramAccount first`);
    return a;
  }

  /** Keeps media the customer sends; WhatsApp's needs the owner's token to download, Instagram's CDN URLs none. */
  private store(token?: string): MediaStore {
    return (bytes, mimeType) => {
      const id = digits(16);
      const sha256 = sha256Base64(bytes);
      this.media.set(id, { bytes, mimeType, sha256, token });
      const sig = randomBytes(12).toString('hex');
      const url = token
        ? `${this.baseUrl}/whatsapp_business/attachments/?mid=${id}&ext=${Math.floor(this.now() / 1000)}&hash=${sig}`
        : `${this.baseUrl}/ig_messaging_cdn/?asset_id=${id}&signature=${sig}`;
      return { id, sha256, url };
    };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    // Media uploads go up to WhatsApp's 100 MB documents.
    const raw = await readBodyBytes(req, 101 << 20);
    if (url.pathname.startsWith('/_sandbox/')) return handleControl(this, url, raw, res);
    const token = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''))?.[1] ?? url.searchParams.get('access_token') ?? undefined;
    const cdn = url.pathname === '/whatsapp_business/attachments/' || url.pathname === '/ig_messaging_cdn/';
    if (cdn && req.method === 'GET') return this.download(url, token, res);
    const json = safeJson(raw);
    const route = /^\/(v\d+\.\d+)\/([^/]+)(?:\/([^/]+))?\/?$/.exec(url.pathname);
    let answer: GraphReply;
    if (!route) answer = graphError('whatsapp', { code: 2500, message: `Unknown path components: ${url.pathname}` });
    else if (req.method === 'POST' && route[3] === 'messages' && json?.message?.attachment) answer = await this.sendIgAttachment(route[2], token, json);
    else if (req.method === 'POST' && route[3] === 'messages') answer = this.sendMessage(route[2], token, json);
    else if (req.method === 'GET' && route[3] === 'message_templates') answer = this.listTemplates(route[2], token);
    else if (req.method === 'POST' && route[3] === 'media') answer = await this.uploadMedia(route[2], token, raw, String(req.headers['content-type'] ?? ''));
    else if (req.method === 'GET' && !route[3]) answer = this.objectInfo(route[2], token) ?? this.mediaInfo(route[2], token);
    else answer = unknownObject('whatsapp', req.method === 'POST' ? 'post' : 'get', route[2]);
    this.log.push({ method: req.method ?? 'GET', path: url.pathname, status: answer.status, body: json });
    reply(res, answer.status, answer.body);
  }

  /** Token checks as Graph makes them: missing, expired, or not this object's. */
  private authError(platform: Platform, token: string | undefined, owner: string): GraphReply | undefined {
    if (!token) return graphError(platform, { code: 2500, message: 'An active access token must be used to query information about the current user.' });
    const expiredAt = this.expiredTokens.get(token);
    if (expiredAt !== undefined) return tokenExpired(platform, expiredAt, this.now());
    if (token !== owner) return graphError(platform, { status: 401, code: 190, message: 'Invalid OAuth access token - Cannot parse access token' });
    return undefined;
  }

  private sendMessage(id: string, token: string | undefined, body: any): GraphReply {
    const n = this.numbers.get(id);
    const a = n ? undefined : this.instagram.get(id);
    const platform: Platform = a ? 'instagram' : 'whatsapp';
    if (!n && !a) return unknownObject(platform, 'post', id);
    const refused = this.authError(platform, token, (n ?? a)!.accessToken) ?? this.scripted(platform, 'messages');
    if (refused) return refused;
    if (n && body?.type === 'template') return this.sendTemplate(n, body);
    if (n && ['image', 'video', 'audio', 'document'].includes(body?.type)) return this.sendMedia(n, body);
    const text = n ? body?.text?.body : body?.message?.text;
    const to = String((n ? body?.to : body?.recipient?.id) ?? '');
    if (n && (body?.messaging_product !== 'whatsapp' || body?.type !== 'text')) return failureReply(platform, 'invalid_parameter', this.now());
    if (!to || typeof text !== 'string' || !text.trim()) return failureReply(platform, 'invalid_parameter', this.now());
    if (text.length > MAX_TEXT) {
      return graphError(platform, { code: 100, message: '(#100) Invalid parameter', details: `Param text['body'] must be at most ${MAX_TEXT} characters long.` });
    }
    const ownerId = n ? n.phoneNumberId : a!.pageId;
    const last = this.lastInbound.get(`${ownerId}:${to}`);
    const outside = last === undefined || this.now() - last > WINDOW_MS;
    if (outside && !(n && this.opts.windowErrors === 'status')) return failureReply(platform, 'outside_window', this.now());
    const record: SentMessage = { platform, from: ownerId, to, text, id: '', at: this.now() };
    if (n) {
      record.id = wamid();
      if (body.context?.message_id) record.replyTo = String(body.context.message_id);
      this.sent.push(record);
      if (outside) this.later(() => this.sendStatuses(record.id, [{ status: 'failed' }]));
      else if (this.opts.autoStatuses) this.later(() => this.sendStatuses(record.id, ['sent', 'delivered']));
      return { status: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to }], messages: [{ id: record.id }] } };
    }
    record.id = Buffer.from(`ig_message_item:1:IGMessageID:${a!.igAccountId}:${digits(12)}`).toString('base64');
    this.sent.push(record);
    if (this.opts.echoes) this.later(() => this.customerSendsInstagram(a!.pageId, { from: to, kind: 'echo', text, mid: record.id }));
    return { status: 200, body: { recipient_id: to, message_id: record.id } };
  }

  /** POST /{phone-number-id}/media: a file kept for the number's messages to name (multipart: messaging_product, type, file). */
  private async uploadMedia(id: string, token: string | undefined, raw: Buffer, contentType: string): Promise<GraphReply> {
    const n = this.numbers.get(id);
    if (!n) return unknownObject('whatsapp', 'post', id);
    const refused = this.authError('whatsapp', token, n.accessToken) ?? this.scripted('whatsapp', 'media');
    if (refused) return refused;
    const form = contentType.startsWith('multipart/form-data') ? await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType } }).formData().catch(() => undefined) : undefined;
    const file = form?.get('file');
    if (!form || form.get('messaging_product') !== 'whatsapp' || !file || typeof file === 'string') {
      return graphError('whatsapp', { code: 100, message: '(#100) The parameter file is required.', details: 'Upload the file as multipart/form-data with messaging_product=whatsapp' });
    }
    const bytes = Buffer.from(await file.arrayBuffer());
    const type = String(form.get('type') ?? file.type);
    if (!WA_MEDIA_TYPES.test(type)) return graphError('whatsapp', { code: 100, message: '(#100) Param file must be a file with one of the following types: audio/aac, audio/mp4, audio/mpeg, audio/amr, audio/ogg, text/plain, application/pdf, application/vnd.ms-powerpoint, application/msword, application/vnd.ms-excel, application/vnd.openxmlformats-officedocument.wordprocessingml.document, application/vnd.openxmlformats-officedocument.presentationml.presentation, application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, image/jpeg, image/png, video/mp4, video/3gpp. Received file of type \'' + type + "\'." });
    const mediaId = digits(16);
    this.media.set(mediaId, { bytes, mimeType: String(form.get('type') ?? file.type), sha256: sha256Base64(bytes), token: n.accessToken, name: file.name });
    return { status: 200, body: { id: mediaId } };
  }

  /** A media message (image, video, audio, document) naming an uploaded media id; free-form, so within the 24-hour window only. */
  private sendMedia(n: WaState, body: any): GraphReply {
    const to = String(body?.to ?? '');
    const kind = String(body.type);
    const m = this.media.get(String(body?.[kind]?.id ?? ''));
    if (!to || !m || m.token !== n.accessToken) return graphError('whatsapp', { code: 131053, message: '(#131053) Media upload error', details: 'media id not found for this phone number' });
    const last = this.lastInbound.get(`${n.phoneNumberId}:${to}`);
    if (last === undefined || this.now() - last > WINDOW_MS) return failureReply('whatsapp', 'outside_window', this.now());
    const caption = typeof body[kind].caption === 'string' ? body[kind].caption : '';
    const record: SentMessage = {
      platform: 'whatsapp', from: n.phoneNumberId, to, text: caption, id: wamid(), at: this.now(),
      // What the message itself says: a document's filename, nothing for the other kinds.
      file: { kind, ...(typeof body[kind].filename === 'string' ? { name: body[kind].filename } : {}), type: m.mimeType, size: m.bytes.length, bytes: m.bytes },
    };
    if (body.context?.message_id) record.replyTo = String(body.context.message_id);
    this.sent.push(record);
    if (this.opts.autoStatuses) this.later(() => this.sendStatuses(record.id, ['sent', 'delivered']));
    return { status: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to }], messages: [{ id: record.id }] } };
  }

  /**
   * An Instagram attachment message: Instagram fetches the file from `payload.url` itself (so
   * the fake does too, and keeps what it got); within the 24-hour window, as any message.
   */
  private async sendIgAttachment(id: string, token: string | undefined, body: any): Promise<GraphReply> {
    const a = this.instagram.get(id);
    if (!a) return unknownObject('instagram', 'post', id);
    const refused = this.authError('instagram', token, a.accessToken) ?? this.scripted('instagram', 'messages');
    if (refused) return refused;
    const to = String(body?.recipient?.id ?? '');
    const { type, payload } = body.message.attachment ?? {};
    if (!to || !['image', 'video', 'audio', 'file'].includes(type) || typeof payload?.url !== 'string') return failureReply('instagram', 'invalid_parameter', this.now());
    const last = this.lastInbound.get(`${a.pageId}:${to}`);
    if (last === undefined || this.now() - last > WINDOW_MS) return failureReply('instagram', 'outside_window', this.now());
    const res = await fetch(payload.url, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
    if (!res?.ok) return graphError('instagram', { code: 100, message: '(#100) Failed to fetch the file from the url', subcode: 2018008 });
    const bytes = Buffer.from(await res.arrayBuffer());
    const record: SentMessage = {
      platform: 'instagram', from: a.pageId, to, text: '', at: this.now(),
      id: Buffer.from(`ig_message_item:1:IGMessageID:${a.igAccountId}:${digits(12)}`).toString('base64'),
      file: { kind: type, type: res.headers.get('content-type') ?? 'application/octet-stream', size: bytes.length, bytes },
    };
    this.sent.push(record);
    return { status: 200, body: { recipient_id: to, message_id: record.id } };
  }

  /** GET /{waba-id}/message_templates, with the token of a number of that account. */
  private listTemplates(wabaId: string, token: string | undefined): GraphReply {
    const owner = [...this.numbers.values()].find((n) => n.wabaId === wabaId);
    if (!owner) return unknownObject('whatsapp', 'get', wabaId);
    const refused = this.authError('whatsapp', token, owner.accessToken);
    if (refused) return refused;
    const data = (this.templates.get(wabaId) ?? []).map((t, i) => ({ ...t, id: `${wabaId}${i}` }));
    return { status: 200, body: { data, paging: { cursors: { before: 'MAZDZD', after: 'MjQZD' } } } };
  }

  /**
   * A template message: any time, the 24-hour window notwithstanding, if the account has the
   * template approved in that language and the parameters fill its placeholders exactly
   * (codes 132001 and 132000 otherwise, as Meta answers).
   */
  private sendTemplate(n: WaState, body: any): GraphReply {
    const to = String(body?.to ?? '');
    const t = (this.templates.get(n.wabaId) ?? []).find((x) => x.name === body?.template?.name && x.language === body?.template?.language?.code && x.status === 'APPROVED');
    if (!to || !t) return graphError('whatsapp', { status: 404, code: 132001, message: '(#132001) Template name does not exist in the translation', details: `template name (${body?.template?.name}) does not exist in ${body?.template?.language?.code}` });
    const given = (part: string) => ((body.template.components ?? []) as any[]).find((c) => String(c.type).toLowerCase() === part)?.parameters?.map((p: any) => String(p.text)) ?? [];
    const texts: string[] = [];
    for (const part of ['header', 'body']) {
      const text = t.components.find((c) => c.type === part.toUpperCase() && (c.format ?? 'TEXT') === 'TEXT')?.text ?? '';
      const wanted = new Set([...text.matchAll(/\{\{(\d+)\}\}/g)].map((m) => m[1])).size;
      if (given(part).length !== wanted) return graphError('whatsapp', { code: 132000, message: '(#132000) Number of parameters does not match the expected number of params', details: `${part}: number of localizable_params (${given(part).length}) does not match the expected number of params (${wanted})` });
      if (text) texts.push(text.replace(/\{\{(\d+)\}\}/g, (_m, i: string) => given(part)[Number(i) - 1]));
    }
    const record: SentMessage = { platform: 'whatsapp', from: n.phoneNumberId, to, text: texts.join('\n\n'), id: wamid(), template: t.name, at: this.now() };
    this.sent.push(record);
    if (this.opts.autoStatuses) this.later(() => this.sendStatuses(record.id, ['sent', 'delivered']));
    return { status: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to }], messages: [{ id: record.id, message_status: 'accepted' }] } };
  }

  /**
   * GET /{phone-number-id} and GET /{page-id}: what PingBack reads to check a token.
   * Fields as Meta answers them by default (`fields` asks for a subset; the fake gives all).
   */
  private objectInfo(id: string, token: string | undefined): GraphReply | undefined {
    const n = this.numbers.get(id);
    const a = n ? undefined : this.instagram.get(id);
    if (!n && !a) return undefined;
    const platform: Platform = n ? 'whatsapp' : 'instagram';
    const refused = this.authError(platform, token, (n ?? a)!.accessToken);
    if (refused) return refused;
    if (n) return { status: 200, body: { verified_name: 'PingBack Sandbox', display_phone_number: n.displayPhoneNumber, quality_rating: 'GREEN', id } };
    return { status: 200, body: id === a!.pageId ? { name: `Sandbox Page ${id}`, id } : { username: `sandbox_${id}`, id } };
  }

  /** GET /{media-id}: where to download it for the next few minutes. */
  private mediaInfo(id: string, token: string | undefined): GraphReply {
    const m = this.media.get(id);
    if (!m?.token) return unknownObject('whatsapp', 'get', id);
    const refused = this.authError('whatsapp', token, m.token) ?? this.scripted('whatsapp', 'media');
    if (refused) return refused;
    const url = `${this.baseUrl}/whatsapp_business/attachments/?mid=${id}&ext=${Math.floor(this.now() / 1000)}&hash=${randomBytes(12).toString('hex')}`;
    return { status: 200, body: { messaging_product: 'whatsapp', url, mime_type: m.mimeType, sha256: m.sha256, file_size: m.bytes.length, id } };
  }

  private download(url: URL, token: string | undefined, res: http.ServerResponse): void {
    const whatsapp = url.pathname.startsWith('/whatsapp_business/');
    const m = this.media.get(url.searchParams.get(whatsapp ? 'mid' : 'asset_id') ?? '');
    const refused = !m ? { status: 404, body: { error: { message: 'Not Found' } } } : whatsapp ? this.authError('whatsapp', token, m.token ?? '') : undefined;
    this.log.push({ method: 'GET', path: url.pathname, status: refused?.status ?? 200 });
    if (refused) return reply(res, refused.status, refused.body);
    res.writeHead(200, { 'content-type': m!.mimeType, 'content-length': m!.bytes.length });
    res.end(m!.bytes);
  }

  private scripted(platform: Platform, on: 'messages' | 'media'): GraphReply | undefined {
    const kind = this.failures.get(on)?.shift();
    return kind ? failureReply(platform, kind, this.now()) : undefined;
  }

  /** Meta's webhooks follow its API answer; a failed delivery is the receiver's business. */
  private later(fn: () => Promise<unknown>): void {
    setTimeout(() => void fn().catch(() => undefined), 50);
  }
}

/** Optional settings left out (undefined) keep their defaults instead of erasing them. */
const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

function safeJson(raw: Buffer): any {
  try { return raw.length ? JSON.parse(raw.toString('utf8')) : undefined; } catch { return undefined; }
}

