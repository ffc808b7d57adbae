import type { z } from 'zod';
import type { MetaWebhookEvent } from './events';

export type WebhookParse = { ok: true; events: MetaWebhookEvent[] } | { ok: false; issues: Array<{ path: string; message: string }> };

/**
 * Validates one part of a webhook body, prefixing issue paths with where the part
 * sits (`entry.0.changes.1.value.messages.0.id`), so a 400 says what was wrong.
 */
export function parsePart<S extends z.ZodType>(
  schema: S,
  value: unknown,
  at: Array<string | number>,
  issues: Array<{ path: string; message: string }>,
): z.infer<S> | undefined {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  for (const i of r.error.issues) issues.push({ path: [...at, ...i.path].join('.') || '(root)', message: i.message });
  return undefined;
}
