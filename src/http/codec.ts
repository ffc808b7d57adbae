import Router from '@koa/router';
import type { Middleware } from 'koa';
import { z } from 'zod';
import { requireAdmin } from '../api/auth';
import type { AppDeps } from '../api/context';
import { validate } from '../api/validate';
import { readJsonBody } from './body';
import { PayloadEncryptionCodec } from '../temporal/payload-codec';

/** Payloads as Temporal's codec server protocol carries them, in and out: proto3 JSON, bytes as base64. */
export const codecPayloadsSchema = z.object({
  payloads: z
    .array(z.object({ metadata: z.record(z.string(), z.base64()).default({}), data: z.base64().default('') }))
    .max(1000),
});
type WirePayload = z.infer<typeof codecPayloadsSchema>['payloads'][number];

const MAX_BODY_BYTES = 16 * 1024 * 1024;

const fromWire = (p: WirePayload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
  data: new Uint8Array(Buffer.from(p.data, 'base64')),
});
const toWire = (p: { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }): WirePayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

/**
 * A codec server for operators (Temporal's "remote data encoder" protocol): POST /codec/decode
 * and /codec/encode, so the Temporal UI and CLI show conversations' payloads as they were
 * before encryption. Payloads hold every tenant's messages, so only the operator may decode:
 * `Authorization: Bearer <PINGBACK_ADMIN_TOKEN>` (the CLI's `--codec-auth`; for the Temporal
 * UI, a proxy in front of PingBack adds it; docs/operations.md). CORS answers the Temporal UI's
 * origin (TEMPORAL_UI_URL) only.
 */
export function codecRoutes(deps: AppDeps): Router {
  const router = new Router({ prefix: '/codec' });
  const codec = new PayloadEncryptionCodec(deps.secrets);
  const uiOrigin = deps.config.TEMPORAL_UI_URL ? new URL(deps.config.TEMPORAL_UI_URL).origin : undefined;
  const cors: Middleware = async (ctx, next) => {
    if (uiOrigin && ctx.get('origin') === uiOrigin) {
      ctx.set('Access-Control-Allow-Origin', uiOrigin);
      ctx.set('Access-Control-Allow-Credentials', 'true');
      ctx.set('Vary', 'Origin');
    }
    if (ctx.method === 'OPTIONS') {
      if (uiOrigin && ctx.get('origin') === uiOrigin) {
        ctx.set('Access-Control-Allow-Methods', 'POST');
        ctx.set('Access-Control-Allow-Headers', 'authorization, content-type, x-namespace');
        ctx.set('Access-Control-Max-Age', '600');
      }
      ctx.status = 204;
      return;
    }
    await next();
  };
  router.use(cors);
  for (const op of ['encode', 'decode'] as const) {
    router.options(`/${op}`, () => undefined);
    router.post(`/${op}`, requireAdmin(deps), async (ctx) => {
      const { payloads } = validate(codecPayloadsSchema, (await readJsonBody(ctx, MAX_BODY_BYTES)).json);
      const out = await codec[op](payloads.map(fromWire));
      ctx.body = { payloads: out.map(toWire) } satisfies z.infer<typeof codecPayloadsSchema>;
    });
  }
  return router;
}
