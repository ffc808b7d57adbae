import type { InboundMessage, MessageStatusUpdate } from '../types';

/**
 * What one webhook POST from Meta turns into, entry by entry. `owner` is the
 * business number or account the entry is for (WhatsApp `metadata.phone_number_id`,
 * Instagram `entry.id`): the ingress checks it belongs to the channel of the URL.
 */
export type MetaWebhookEvent =
  | { kind: 'message'; owner: string; message: InboundMessage }
  /** A delivery report for an outbound message, routed to the conversation with `threadKey`. */
  | { kind: 'status'; owner: string; threadKey: string; update: MessageStatusUpdate }
  /** Acknowledged but not routed anywhere (echoes, fields PingBack does not handle); recorded as ignored_events. */
  | { kind: 'ignored'; owner: string; reason: string; eventId?: string; payload: unknown; problem?: string };

/**
 * Meta's timestamps as ISO: WhatsApp sends epoch seconds as strings, Instagram epoch
 * milliseconds as numbers (and the App Dashboard's test sample seconds as a string).
 */
export function metaTimestamp(value: string | number | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) return undefined;
  // Anything before 2001-09 in ms would be under 1e12: a seconds value.
  const ms = n < 1e12 ? n * 1000 : n;
  // Past what a Date can hold (a forged or garbled value): no time rather than a failed request.
  return ms <= 8.64e15 ? new Date(ms).toISOString() : undefined;
}
