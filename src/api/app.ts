import Koa from 'koa';
import Router from '@koa/router';
import { AppError, DomainError, HTTP_STATUS_OF } from '../errors';
import { ChannelLookup } from '../inbound/channel-lookup';
import { webhookRoutes } from '../inbound/webhooks';
import { webchatIngress } from '../widget/routes';
import { webchatAttachmentRoutes } from '../widget/attachments';
import { widgetAccess } from '../widget/access';
import { WidgetWaiters } from '../widget/waiters';
import { accountRoutes } from './account';
import { adminRoutes } from './admin';
import { attachmentRoutes } from './attachments';
import { authenticate } from './auth';
import { channelRoutes } from './channels';
import { mediaLinkRoutes } from '../http/media-links';
import { templateRoutes } from './templates';
import type { AppDeps, AuthState } from './context';
import { conversationRoutes } from './conversations';
import { conversationMessageRoutes } from './conversation-messages';
import { docsRoutes } from './docs';
import { dashboard } from '../http/dashboard';
import { securityHeaders } from '../http/security-headers';
import { SESSION_COOKIE, sessionUser } from '../auth/sessions';
import { sessionRoutes } from './session';
import { codecRoutes } from '../http/codec';
import { requestId } from '../http/request-id';
import { requestSpans } from '../telemetry/request-spans';
import { currentTracing } from '../telemetry/tracing';
import type { Logger } from '../log';
import { healthRoutes, type Healthz } from '../http/health';
import { userRoutes } from './users';
import { eventRoutes } from './events';
import { channelTypeRoutes } from './channel-types';

export type App = Koa & {
  /** Ends what holds requests open (the web chat's long polls), so the server can close at once; /readyz answers 503 from then on. */
  shutdown(): void;
};

/** The dashboard/integration API, the operator API and the platforms' webhook ingress, in one Koa app. */
export function createApp(input: Omit<AppDeps, 'channelLookup'> & Partial<Pick<AppDeps, 'channelLookup'>>): App {
  const deps: AppDeps = { ...input, channelLookup: input.channelLookup ?? new ChannelLookup(input.db) };
  const waiters = new WidgetWaiters(deps.db, deps.log);
  let shuttingDown = false;
  const app = Object.assign(new Koa(), {
    shutdown: () => {
      shuttingDown = true;
      waiters.close();
    },
  });
  // The client's address (web chat limits) from X-Forwarded-For only when a proxy of ours
  // wrote it: the last TRUSTED_PROXY_HOPS entries, never the ones a client can send itself.
  app.proxy = deps.config.TRUSTED_PROXY_HOPS > 0;
  app.maxIpsCount = deps.config.TRUSTED_PROXY_HOPS;

  // Traces on (startTracing, OTEL_EXPORTER_OTLP_ENDPOINT): a span for each request, around everything it does.
  if (currentTracing()) app.use(requestSpans());
  app.use(requestId(deps.log));
  app.use(securityHeaders({ https: deps.config.PUBLIC_BASE_URL.startsWith('https:') }));
  app.use(async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new AppError(404, 'not_found', `no route for ${ctx.method} ${ctx.path}`);
      }
      // The router's own answers (a known path, another method) come as plain text: same shape as every error.
      if (ctx.status === 405) {
        throw new AppError(405, 'method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}; allowed: ${ctx.response.get('Allow')}`);
      }
      if (ctx.status === 501) throw new AppError(501, 'not_implemented', `${ctx.method} is not supported`);
    } catch (err) {
      const appErr = toAppError(err);
      if (appErr.status >= 500) {
        const cause = appErr.code === 'internal_error' ? err : appErr.cause;
        (ctx.state.log as Logger).error('request failed', {
          method: ctx.method,
          path: ctx.path,
          code: appErr.code,
          error: cause instanceof Error ? (cause.stack ?? cause.message) : cause === undefined ? undefined : String(cause),
        });
      }
      ctx.status = appErr.status;
      ctx.body = { error: { code: appErr.code, message: appErr.message, ...(appErr.details ? { details: appErr.details } : {}) } };
    }
    const ms = performance.now() - started;
    deps.metrics?.request(ctx, ms / 1000);
    // Paths only: query strings and bodies can carry secrets.
    (ctx.state.log as Logger).debug('request', { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms) });
  });

  // Errors Koa meets after an answer has started (a streamed body): a client going away is not one.
  app.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ECONNRESET' || err.code === 'EPIPE') return;
    deps.log.error('response failed', { error: err.stack ?? String(err) });
  });

  const root = new Router();
  root.get('/healthz', async (ctx) => {
    await deps.db.raw('select 1').catch(() => {
      throw new AppError(503, 'database_unavailable', 'PostgreSQL is not reachable');
    });
    ctx.body = { ok: true } satisfies Healthz;
  });
  app.use(root.routes());
  app.use(healthRoutes({ db: deps.db, temporal: deps.temporal, shuttingDown: () => shuttingDown, log: deps.log }).routes());
  app.use(codecRoutes(deps).routes());
  app.use(docsRoutes().routes());
  // Every platform's webhooks, through its adapter's `webhook` (src/inbound/webhooks.ts); the web widget's own routes.
  app.use(webhookRoutes(deps).routes());
  const widget = widgetAccess(deps);
  app.use(webchatIngress(deps, waiters, widget).routes());
  app.use(webchatAttachmentRoutes(deps, widget).routes());
  app.use(mediaLinkRoutes(deps).routes());
  app.use(adminRoutes(deps).routes());
  app.use(sessionRoutes(deps).routes());

  const api = new Router<AuthState>({ prefix: '/api' });
  api.use(authenticate(deps));
  api.use(userRoutes(deps).routes());
  api.use(accountRoutes(deps).routes());
  api.use(channelRoutes(deps).routes());
  api.use(templateRoutes(deps).routes());
  api.use(channelTypeRoutes(deps).routes());
  api.use(conversationRoutes(deps).routes());
  api.use(conversationMessageRoutes(deps).routes());
  api.use(attachmentRoutes(deps).routes());
  api.use(eventRoutes(deps).routes());
  app.use(api.routes());
  app.use(api.allowedMethods());
  // Last: every other page path is the dashboard's.
  const policy = { idleHours: deps.config.SESSION_IDLE_HOURS, maxDays: deps.config.SESSION_MAX_DAYS };
  app.use(
    dashboard({
      signedIn: async (ctx) => {
        const token = ctx.cookies.get(SESSION_COOKIE);
        return !!token && !!(await sessionUser(deps.db, token, policy));
      },
    }),
  );
  return app;
}

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof DomainError) return new AppError(HTTP_STATUS_OF[err.kind], err.code, err.message, err.details);
  const e = err as { code?: string; status?: number; expose?: boolean; message?: string };
  // PostgreSQL down or connections exhausted: an outage, retryable, not a bug.
  if (e.code && ['ECONNREFUSED', 'ECONNRESET', '57P01', '57P03', '53300'].includes(e.code)) {
    return new AppError(503, 'database_unavailable', 'the database is unavailable; retry later');
  }
  if (
    e.message?.includes('Knex: Timeout acquiring a connection') ||
    e.message?.includes('Connection terminated') ||
    e.message?.includes('connect ECONNREFUSED')
  ) {
    return new AppError(503, 'database_unavailable', 'the database is unavailable; retry later');
  }
  if (typeof e.status === 'number' && e.expose) return new AppError(e.status, 'bad_request', e.message ?? 'bad request');
  // Text PostgreSQL cannot store (a NUL character): the caller's input, refused whole, wherever it came in.
  if (e.code === '22021' || e.code === '22P05') return new AppError(422, 'invalid_text', 'text fields must not contain NUL (\\u0000) characters');
  return new AppError(500, 'internal_error', 'something went wrong on our side');
}
