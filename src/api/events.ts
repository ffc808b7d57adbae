import { PassThrough } from 'node:stream';
import Router from '@koa/router';
import { AppError } from '../errors';
import type { InboxEvent } from '../inbox/schemas';
import type { AppDeps, AuthState } from './context';

/** Proxies and load balancers close a connection that says nothing for a minute or so. */
const KEEPALIVE_MS = 25_000;
const EVENT_ID = /^\d{1,19}$/;

/**
 * GET /api/events: the account's changes as server-sent events, for the dashboard and for
 * integrations. Each event's `id:` lets a client that reconnects (EventSource sends
 * Last-Event-ID by itself) get exactly what it missed, in order; one whose last event was
 * pruned (EVENTS_RETENTION_HOURS) gets a single `reset` event and should reload its view.
 */
export function eventRoutes(deps: AppDeps, opts: { keepaliveMs?: number } = {}): Router<AuthState> {
  const router = new Router<AuthState>();

  router.get('/events', async (ctx) => {
    const hub = deps.events;
    if (!hub) throw new AppError(503, 'events_unavailable', 'this api process does not serve the event stream');
    const lastEventId = ctx.get('last-event-id') || (typeof ctx.query.last_event_id === 'string' ? ctx.query.last_event_id : '');
    if (lastEventId && !EVENT_ID.test(lastEventId)) {
      throw new AppError(400, 'invalid_last_event_id', 'Last-Event-ID must be the id of an event this stream sent');
    }
    const accountId = ctx.state.accountId;
    const stream = new PassThrough();
    const write = (text: string) => void (stream.writable && stream.write(text));
    const send = (e: InboxEvent) => write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);

    const keepalive = setInterval(() => write(': keepalive\n\n'), opts.keepaliveMs ?? KEEPALIVE_MS);
    // Subscribed before anything is read: what happens from here on is buffered, not missed.
    // It ends when the client goes away, or when the hub shuts down (the api stopping).
    const sub = hub.subscribe(accountId, send, () => {
      clearInterval(keepalive);
      stream.end();
    });
    ctx.req.on('close', () => sub.close());

    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.status = 200;
    ctx.set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // nginx would otherwise hold events back in its buffer.
      'X-Accel-Buffering': 'no',
    });
    ctx.body = stream;
    // A client reconnecting waits 3 s before trying again (EventSource's own retry).
    write('retry: 3000\n\n');

    try {
      if (lastEventId) {
        const from = await hub.positionOfEvent(accountId, lastEventId);
        if (from) await hub.replay(accountId, from, sub.from, (events) => sub.replayed(events));
        else write(`event: reset\ndata: ${JSON.stringify({ reason: 'the events after Last-Event-ID are no longer kept; reload' })}\n\n`);
      }
      sub.goLive();
    } catch (err) {
      deps.log.warn('event stream: replay failed; the client will reconnect', { error: String(err) });
      sub.close();
    }
  });

  return router;
}
