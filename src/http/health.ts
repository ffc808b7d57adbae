import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/knex';
import type { Logger } from '../log';

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
    ctx.body = { status: 'ok' };
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
  const publicView = ({ ok, ms }: Check) => ({ ok, ms });
  router.get('/readyz', async (ctx) => {
    const { temporal, postgres } = await checks();
    const ready = temporal.ok && !deps.shuttingDown();
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: deps.shuttingDown() ? 'shutting_down' : ready ? 'ready' : 'not_ready', checks: { temporal: publicView(temporal), postgres: publicView(postgres) } };
  });
  return router;
}
