import { PlatformError, PlatformErrorKind } from '../platform-error';

/**
 * The Graph API error object, shared by the WhatsApp Cloud API and Instagram messaging:
 * `{"error":{"message","type","code","error_subcode"?,"error_data"?,"is_transient"?,"fbtrace_id"}}`.
 * Meta says to branch on `code` (and subcode), never on titles
 * (developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes).
 */
export interface GraphError {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  error_data?: { details?: string; messaging_product?: string } | string;
  is_transient?: boolean;
  fbtrace_id?: string;
  /** Webhook `errors[]` entries carry a title instead of a type. */
  title?: string;
}

const WA_ERRORS = 'developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes';
const GRAPH_ERRORS = 'developers.facebook.com/docs/graph-api/guides/error-handling';
const SEND_API_ERRORS = 'developers.facebook.com/docs/messenger-platform/error-codes';

interface Rule {
  code: number | [number, number];
  subcode?: number;
  kind: PlatformErrorKind;
  doc: string;
  /** What the agent can do about it, appended to Meta's own words. */
  advice?: string;
  /** Meta gives no retry-after; where the doc states a pace, wait that long instead of our backoff. */
  retryAfterMs?: number;
}

const OUTSIDE_WINDOW =
  'the customer has not written in the last 24 hours; a free-form reply is possible once they write again';

/** How PingBack treats each Meta error code; first match wins, so subcode rules come first. */
export const META_ERROR_RULES: readonly Rule[] = [
  // Instagram's 24-hour window: code 10 with this subcode (Send API, "outside of allowed window").
  { code: 10, subcode: 2018278, kind: 'rejected', doc: SEND_API_ERRORS, advice: OUTSIDE_WINDOW },
  // WhatsApp's 24-hour customer-service window: outside it only approved templates may be sent.
  { code: 131047, kind: 'rejected', doc: WA_ERRORS, advice: `${OUTSIDE_WINDOW} (or send an approved template)` },
  // Throttling: "API Too Many Calls", "Rate limit issues", per-number throughput ("Rate limit hit").
  { code: 4, kind: 'rate_limited', doc: WA_ERRORS },
  { code: 80007, kind: 'rate_limited', doc: WA_ERRORS },
  { code: 130429, kind: 'rate_limited', doc: WA_ERRORS },
  // Too many messages to the same user in a short time; the pair limit is about one message every 6 s.
  { code: 131056, kind: 'rate_limited', doc: WA_ERRORS, retryAfterMs: 6_000 },
  // Messenger/Instagram "Calls to this API have exceeded the rate limit" and user/page throttling.
  { code: 613, kind: 'rate_limited', doc: SEND_API_ERRORS },
  { code: 17, kind: 'rate_limited', doc: GRAPH_ERRORS },
  { code: 32, kind: 'rate_limited', doc: GRAPH_ERRORS },
  // Credentials: expired or revoked token (subcodes 463, 460, 467 …), permissions removed. Nothing works until they change.
  { code: 190, kind: 'auth', doc: WA_ERRORS, advice: "update the channel's access token" },
  { code: 0, kind: 'auth', doc: WA_ERRORS, advice: "update the channel's access token" },
  { code: 10, kind: 'auth', doc: WA_ERRORS, advice: 'the access token lacks a permission this channel needs' },
  { code: [200, 299], kind: 'auth', doc: WA_ERRORS, advice: 'the access token lacks a permission this channel needs' },
  // Meta's side: "API Unknown", "API Service", "Something went wrong", "Service unavailable": retry.
  { code: 1, kind: 'unavailable', doc: WA_ERRORS },
  { code: 2, kind: 'unavailable', doc: WA_ERRORS },
  { code: 131000, kind: 'unavailable', doc: WA_ERRORS },
  { code: 131016, kind: 'unavailable', doc: WA_ERRORS },
  // Refusals of this message: bad parameter, spam limit, undeliverable, person unavailable.
  { code: 100, kind: 'rejected', doc: WA_ERRORS },
  { code: 131048, kind: 'rejected', doc: WA_ERRORS },
  { code: 131026, kind: 'rejected', doc: WA_ERRORS },
  { code: 551, kind: 'rejected', doc: SEND_API_ERRORS },
];

function ruleFor(code: number | undefined, subcode: number | undefined): Rule | undefined {
  if (code === undefined) return undefined;
  return META_ERROR_RULES.find((r) => {
    const codeMatches = Array.isArray(r.code) ? code >= r.code[0] && code <= r.code[1] : r.code === code;
    return codeMatches && (r.subcode === undefined || r.subcode === subcode);
  });
}

/**
 * Meta's words for an error: its message, then `error_data.details` (the useful
 * sentence), then what the agent can do, e.g. "(#131047) Re-engagement message:
 * Message failed to send because more than 24 hours have passed … — the customer …".
 */
export function describeMetaError(e: GraphError): string {
  const details = typeof e.error_data === 'string' ? e.error_data : e.error_data?.details;
  let text = e.message || e.title || `Meta error ${e.code ?? 'without a code'}`;
  if (e.code !== undefined && !text.startsWith('(#')) text = `(#${e.code}) ${text}`;
  if (details && !text.includes(details)) text = `${text}: ${details}`;
  const advice = ruleFor(e.code, e.error_subcode)?.advice;
  return advice ? `${text} — ${advice}` : text;
}

/** One Graph API failure → a PlatformError saying whether a retry can help. */
export function classifyGraphError(httpStatus: number, body: { error?: GraphError } | undefined): PlatformError {
  const e = body?.error;
  const rule = ruleFor(e?.code, e?.error_subcode);
  const kind: PlatformErrorKind =
    rule?.kind ?? (httpStatus >= 500 || e?.is_transient ? 'unavailable' : httpStatus === 429 ? 'rate_limited' : 'rejected');
  const message = e ? describeMetaError(e) : `Meta answered HTTP ${httpStatus}`;
  return new PlatformError(kind, message, {
    status: httpStatus,
    platformCode: e?.error_subcode ? `${e.code}/${e.error_subcode}` : e?.code,
    retryAfterMs: kind === 'rate_limited' ? rule?.retryAfterMs : undefined,
  });
}
