import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { MetaWebhookEvent } from './events';

/**
 * Reads one item of a webhook body: a message, a status, a change's value. An item
 * PingBack cannot read becomes an `unparseable` ignored event (the item, and which of
 * its fields were wrong, with their place in the body, e.g.
 * `entry.0.changes.1.value.messages.0.id`), and the rest of the POST goes on. Refusing
 * the whole POST would make Meta redeliver it for days, and the good items in it with
 * it would never arrive. Only a bad envelope is refused.
 */
export function parseItem<S extends z.ZodType>(
  schema: S,
  item: unknown,
  at: Array<string | number>,
  owner: string,
  events: MetaWebhookEvent[],
): z.infer<S> | undefined {
  const r = schema.safeParse(item);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ path: [...at, ...i.path].join('.'), message: i.message }));
  // Keyed by the item's bytes: a redelivery records it once.
  const eventId = createHash('sha256').update(JSON.stringify(item) ?? 'undefined').digest('hex').slice(0, 40);
  events.push({ kind: 'ignored', owner, reason: 'unparseable', eventId, payload: { item, issues } });
  return undefined;
}
