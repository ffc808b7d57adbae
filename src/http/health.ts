import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { Db } from '../db/knex';
import type { Logger } from '../log';

/** GET /livez. */
export const livenessSchema = z.object({ status: z.literal('ok') });
/** A readiness check as /readyz shows it: its reason goes to the api's log, not to a public answer. */
const checkViewSchema = z.object({ ok: z.boolean(), ms: z.number().int().describe('How long it took') });
/** GET /readyz, 200 and 503 alike. */
export const readinessSchema = z.object({
  status: z.enum(['ready', 'not_ready', 'shutting_down']),
  checks: z.object({ temporal: checkViewSchema, postgres: checkViewSchema.describe('Reported; does not make the api unready') }),
});
/** GET /healthz (src/api/app.ts): the process reaches PostgreSQL; 503 database_unavailable otherwise. */
export const healthzSchema = z.object({ ok: z.literal(true) });
export type Healthz = z.infer<typeof healthzSchema>;

/** How long a readiness check waits for PostgreSQL or Temporal before calling it down. */
const CHECK_TIMEOUT_MS = 2_000;

export interface Check {
  ok: boolean;
  error?: string;
  ms: number;
}

async function timed(what: () => Promise<unknown>): Promise<Check> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([what(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS)))]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err), ms: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

export const checkPostgres = (db: Db) => timed(() => db.raw('select 1'));
export const checkTemporal = (temporal: Client) => timed(() => temporal.workflowService.getSystemInfo({}));

/**
 * The api's probes, for an orchestrator:
 * - `/livez`: the process answers (restart it when it does not).
 * - `/readyz`: it can do its first job, turning webhooks into Temporal signals, so Temporal must
 *   answer; 503 also once it is shutting down (give the load balancer a moment to notice before the
 *   process stops listening: a preStop sleep, docs/operations.md). PostgreSQL is reported but does not make it
 *   unready: the webhook ingress acknowledges while PostgreSQL is down (Temporal holds the
 *   messages until it is back), and taking every api out of rotation then would lose them.
 *   The inbox API answers 503 database_unavailable meanwhile.
 * - `/healthz` (older): the process and PostgreSQL; kept for the checks already pointed at it.
 */
export function healthRoutes(deps: { db: Db; temporal: Client; shuttingDown: () => boolean; log?: Logger }) {
  const router = new Router();
  router.get('/livez', (ctx) => {
    ctx.body = { status: 'ok' } satisfies z.infer<typeof livenessSchema>;
  });
  // Anyone can reach the public port: the checks run at most once a second however often it is
  // asked, and answer without their error text (internal addresses); the api logs that instead.
  let last: { at: number; checks: Promise<{ temporal: Check; postgres: Check }> } | undefined;
  const checks = () => {
    if (!last || Date.now() - last.at > 1_000) {
      const run = Promise.all([checkTemporal(deps.temporal), checkPostgres(deps.db)]).then(([temporal, postgres]) => {
        // Once per check, not once per probe that reads it.
        if (!temporal.ok) deps.log?.warn('not ready: Temporal does not answer', { error: temporal.error });
        return { temporal, postgres };
      });
      last = { at: Date.now(), checks: run };
    }
    return last.checks;
  };
  const publicView = ({ ok, ms }: Check): z.infer<typeof checkViewSchema> => ({ ok, ms });
  router.get('/readyz', async (ctx) => {
    const { temporal, postgres } = await checks();
    const ready = temporal.ok && !deps.shuttingDown();
    ctx.status = ready ? 200 : 503;
    ctx.body = {
      status: deps.shuttingDown() ? 'shutting_down' : ready ? 'ready' : 'not_ready',
      checks: { temporal: publicView(temporal), postgres: publicView(postgres) },
    } satisfies z.infer<typeof readinessSchema>;
  });
  return router;
}
