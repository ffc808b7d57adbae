import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';
import type { Middleware } from 'koa';
import { routeOf } from '../metrics/api-metrics';

/** Probes answer every few seconds: a trace each would bury the ones that matter. */
const UNTRACED = new Set(['/livez', '/readyz', '/healthz']);

/**
 * A server span for every request, named by its route's template (`POST /webhooks/telegram/:channelId`),
 * never its path (ids, and the signed tokens of media links): what the request does inside it (a
 * Temporal signal-with-start through the client's OpenTelemetry interceptor, which carries the trace
 * on in the workflow's headers) is its child. A caller's own `traceparent` is continued. Outermost, so
 * the status is the one answered, after the error handler; a 5xx marks the span failed.
 */
export function requestSpans(): Middleware {
  const tracer = trace.getTracer('pingback-api');
  return async (ctx, next) => {
    if (UNTRACED.has(ctx.path)) return next();
    const parent = propagation.extract(context.active(), ctx.headers);
    const span = tracer.startSpan(`${ctx.method}`, { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: ctx.method } }, parent);
    try {
      await context.with(trace.setSpan(parent, span), next);
    } catch (err) {
      // Not expected (the error handler answers every error), but a span is never left open.
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      const route = routeOf(ctx);
      span.updateName(`${ctx.method} ${route}`);
      span.setAttribute(ATTR_HTTP_ROUTE, route);
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, ctx.status);
      if (typeof ctx.state.requestId === 'string') span.setAttribute('pingback.request_id', ctx.state.requestId);
      if (ctx.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}
