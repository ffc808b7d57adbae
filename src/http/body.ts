import type { Context } from 'koa';
import type { z } from 'zod';
import { AppError } from '../errors';

const DEFAULT_LIMIT = 1024 * 1024;

/**
 * Reads the request body as the exact bytes sent: platform signatures are computed
 * over these, and re-serialised JSON would not match.
 */
export async function readRawBody(ctx: Context, limit = DEFAULT_LIMIT): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new AppError(413, 'payload_too_large', `request body is over ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new AppError(413, 'payload_too_large', `request body is over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readJsonBody(ctx: Context, limit?: number): Promise<{ raw: Buffer; json: unknown }> {
  const raw = await readRawBody(ctx, limit);
  return { raw, json: parseJson(raw) };
}

/** Raw bytes to JSON, or 400 invalid_json. */
export function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) throw new AppError(400, 'invalid_json', 'request body is empty; expected JSON');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AppError(400, 'invalid_json', 'request body is not valid JSON');
  }
}

/**
 * A platform's payload checked against its schema, or 400 with every bad field:
 * the platform (or whoever imitates it) sent something PingBack cannot read.
 */
export function parsePlatformPayload<S extends z.ZodType>(schema: S, json: unknown, code: string, what: string): z.infer<S> {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const fields = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  throw new AppError(400, code, `body is not ${what}`, { fields });
}
