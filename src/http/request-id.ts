import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../log';
import { withRequestIds } from '../temporal/request-ids';

/** An id a proxy or client may give (X-Request-Id): kept when it is a reasonable token, else a new one is made. */
const ACCEPTED = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Every request's id: taken from X-Request-Id (a load balancer's, so lines join up across
 * hops) or made, answered in X-Request-Id, and bound to `ctx.state.log`, so every line the
 * request writes carries `request_id`. What the request asks of Temporal carries it on, to the
 * log lines of the workflow and the activities that handle the message it made
 * (src/temporal/request-ids.ts).
 */
export function requestId(log: Logger): Middleware {
  return async (ctx, next) => {
    const given = ctx.get('x-request-id');
    const id = ACCEPTED.test(given) ? given : randomUUID();
    ctx.state.requestId = id;
    ctx.state.log = log.child({ request_id: id });
    ctx.set('X-Request-Id', id);
    await withRequestIds([id], next);
  };
}
