import type { Context } from 'koa';
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
  if (raw.length === 0) throw new AppError(400, 'invalid_json', 'request body is empty; expected JSON');
  try {
    return { raw, json: JSON.parse(raw.toString('utf8')) };
  } catch {
    throw new AppError(400, 'invalid_json', 'request body is not valid JSON');
  }
}
