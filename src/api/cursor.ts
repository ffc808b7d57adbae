import { z } from 'zod';
import { AppError } from '../errors';

/** Opaque page cursors: base64url JSON of the last row's sort key. */
export function encodeCursor(key: unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The inbox's sort key (last_message_at, id) and the messages' (seq). */
export const conversationCursor = z.tuple([z.string().regex(/^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d{1,6})?([+-]\d\d(:?\d\d)?|Z)$/), z.uuid()]);
export const messageCursor = z.tuple([z.string().regex(/^\d{1,19}$/)]);

/** A cursor this API gave out, or 400: a tampered one never reaches SQL. */
export function decodeCursor<S extends z.ZodType>(cursor: string | undefined, schema: S): z.infer<S> | undefined {
  if (cursor === undefined) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  const parsed = schema.safeParse(key);
  if (!parsed.success) throw new AppError(400, 'invalid_cursor', 'cursor is not one this API gave out');
  return parsed.data;
}
