/**
 * Bodies the Meta Graph API fake sends and answers with, shaped like the recorded
 * fixtures (shared/fixtures/platforms/{whatsapp,instagram}) and Meta's docs.
 * Pure functions: no state, no I/O besides `postWebhook`.
 */
import { createHmac, randomBytes } from 'node:crypto';

/**
 * JSON as Meta serialises webhooks: non-ASCII as \uXXXX and "/" as "\/". A receiver that
 * re-serialises the parsed body gets different bytes, so only a raw-body signature check passes.
 */
export function metaJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/\//g, '\\/');
}

/** POSTs a webhook as Meta does: both signature headers, JSON body. `signature: null` sends none. */
export async function postWebhook(
  url: string,
  appSecret: string,
  payload: unknown,
  opts: { signature?: string | null; body?: string } = {},
): Promise<{ status: number; body: string }> {
  const body = opts.body ?? metaJson(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'facebookexternalua' };
  if (opts.signature !== null) {
    headers['x-hub-signature-256'] = opts.signature ?? `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
    headers['x-hub-signature'] = `sha1=${createHmac('sha1', appSecret).update(body).digest('hex')}`;
  }
  const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text() };
}

export const fbtraceId = () => `A${randomBytes(17).toString('base64url').slice(0, 22)}`;
export const wamid = () => `wamid.HBgL${randomBytes(30).toString('base64')}`;

// ---------------------------------------------------------------------------
// Errors: {"error":{"message","type","code","error_subcode"?,"error_data"?,"fbtrace_id"}}

export type MetaFailure =
  | 'rate_limit' // WhatsApp 130429 throughput, Instagram 613
  | 'pair_rate_limit' // WhatsApp 131056
  | 'app_rate_limit' // 4
  | 'server_error' // HTTP 500, code 1
  | 'service_unavailable' // HTTP 503, code 2
  | 'something_went_wrong' // WhatsApp 131000
  | 'token_expired' // 190 / 463
  | 'outside_window' // WhatsApp 131047, Instagram 10 / 2018278
  | 'invalid_parameter' // 100
  | 'user_unavailable'; // Instagram 551 / 1545041
export const META_FAILURES: readonly MetaFailure[] = [
  'rate_limit', 'pair_rate_limit', 'app_rate_limit', 'server_error', 'service_unavailable',
  'something_went_wrong', 'token_expired', 'outside_window', 'invalid_parameter', 'user_unavailable',
];
export type Platform = 'whatsapp' | 'instagram';
export interface GraphReply { status: number; body: object }

interface ErrorSpec { status?: number; code: number; message: string; subcode?: number; details?: string; type?: string; transient?: boolean }

export function graphError(platform: Platform, s: ErrorSpec): GraphReply {
  const error: Record<string, unknown> = { message: s.message, type: s.type ?? 'OAuthException' };
  if (s.transient) error.is_transient = true;
  error.code = s.code;
  if (s.subcode !== undefined) error.error_subcode = s.subcode;
  // WhatsApp puts the useful sentence in error_data.details; Instagram's Send API has no error_data.
  if (s.details && platform === 'whatsapp') error.error_data = { messaging_product: 'whatsapp', details: s.details };
  error.fbtrace_id = fbtraceId();
  return { status: s.status ?? 400, body: { error } };
}

/** "Friday, 26-Apr-24 06:00:00 PDT", as Meta words token expiry. */
function metaDate(ms: number): string {
  const d = new Date(ms - 7 * 3600_000);
  const [wd, dd, mon, yyyy, time] = d.toUTCString().replace(',', '').split(' '); // "Fri 26 Apr 2024 13:00:00 GMT"
  const weekday = { Sun: 'Sunday', Mon: 'Monday', Tue: 'Tuesday', Wed: 'Wednesday', Thu: 'Thursday', Fri: 'Friday', Sat: 'Saturday' }[wd];
  return `${weekday}, ${dd}-${mon}-${yyyy.slice(2)} ${time} PDT`;
}

export function tokenExpired(platform: Platform, expiredAtMs: number, nowMs: number): GraphReply {
  const message = `Error validating access token: Session has expired on ${metaDate(expiredAtMs)}. The current time is ${metaDate(nowMs)}.`;
  return graphError(platform, { status: 401, code: 190, subcode: 463, message });
}

export function failureReply(platform: Platform, kind: MetaFailure, nowMs: number): GraphReply {
  const wa = platform === 'whatsapp';
  switch (kind) {
    case 'rate_limit':
      return wa
        ? graphError(platform, { code: 130429, message: '(#130429) Rate limit hit', details: 'Cloud API message throughput has been reached.' })
        : graphError(platform, { code: 613, message: '(#613) Calls to this api have exceeded the rate limit.' });
    case 'pair_rate_limit':
      return graphError(platform, {
        code: 131056,
        message: '(#131056) (Business Account, Consumer Account) pair rate limit hit',
        details: 'Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.',
      });
    case 'app_rate_limit':
      return graphError(platform, { code: 4, message: '(#4) Application request limit reached', transient: true });
    case 'server_error':
      return graphError(platform, { status: 500, code: 1, message: 'An unknown error has occurred.', transient: true });
    case 'service_unavailable':
      return graphError(platform, { status: 503, code: 2, message: 'Service temporarily unavailable', transient: true });
    case 'something_went_wrong':
      return graphError(platform, { status: 500, code: 131000, message: '(#131000) Something went wrong', details: 'Message failed to send due to an unknown error.' });
    case 'token_expired':
      return tokenExpired(platform, nowMs - 2 * 86_400_000, nowMs);
    case 'outside_window':
      return wa
        ? graphError(platform, {
            code: 131047,
            message: '(#131047) Re-engagement message',
            details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
          })
        : graphError(platform, { code: 10, subcode: 2018278, message: '(#10) This message is sent outside of allowed window.' });
    case 'invalid_parameter':
      return graphError(platform, { code: 100, message: '(#100) Invalid parameter', details: 'Parameter value is not valid' });
    case 'user_unavailable':
      return graphError(platform, { code: 551, subcode: 1545041, message: "(#551) This person isn't available right now." });
  }
}

/** Graph's answer for an id it does not know (or the token cannot see). */
export function unknownObject(platform: Platform, method: 'get' | 'post', id: string): GraphReply {
  return graphError(platform, {
    code: 100,
    subcode: 33,
    type: 'GraphMethodException',
    message: `Unsupported ${method} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api`,
  });
}

// ---------------------------------------------------------------------------
// WhatsApp webhooks

export interface WaBusinessNumber { phoneNumberId: string; displayPhoneNumber: string; wabaId: string }

export type WaStatusName = 'sent' | 'delivered' | 'read' | 'failed';
const REENGAGEMENT = {
  code: 131047,
  title: 'Re-engagement message',
  message: 'Re-engagement message',
  error_data: { details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' },
  href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
};

/** One `statuses[]` entry, as status-{sent,delivered,read,failed}.json. */
export function waStatus(id: string, status: WaStatusName, recipient: string, nowSeconds: number, error: object = REENGAGEMENT): object {
  const head = { id, status, timestamp: String(nowSeconds), recipient_id: recipient };
  if (status === 'failed') return { ...head, errors: [error] };
  const conversationId = createHmac('sha256', 'conversation').update(recipient).digest('hex').slice(0, 30);
  return {
    ...head,
    conversation: {
      id: conversationId,
      ...(status === 'sent' ? { expiration_timestamp: String(nowSeconds + 86_400) } : {}),
      origin: { type: 'service' },
    },
    pricing: { billable: true, pricing_model: 'CBP', category: 'service' },
  };
}

/** One change of a WhatsApp webhook: `value` with metadata, contacts and messages or statuses. */
export function waChange(n: WaBusinessNumber, part: { contacts?: Array<{ wa_id: string; name?: string }>; messages?: object[]; statuses?: object[] }): object {
  return {
    value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: n.displayPhoneNumber, phone_number_id: n.phoneNumberId },
      ...(part.contacts?.length ? { contacts: part.contacts.map((c) => ({ profile: { name: c.name ?? 'Customer' }, wa_id: c.wa_id })) } : {}),
      ...(part.messages ? { messages: part.messages } : {}),
      ...(part.statuses ? { statuses: part.statuses } : {}),
    },
    field: 'messages',
  };
}

export function waWebhook(entries: Array<{ wabaId: string; changes: object[] }>): object {
  return { object: 'whatsapp_business_account', entry: entries.map((e) => ({ id: e.wabaId, changes: e.changes })) };
}

export function igWebhook(entries: Array<{ igAccountId: string; timeMs: number; messaging: object[] }>): object {
  return { object: 'instagram', entry: entries.map((e) => ({ time: e.timeMs, id: e.igAccountId, messaging: e.messaging })) };
}
