import { PassThrough } from 'node:stream';
import Router from '@koa/router';
import { formatPosition, parsePosition } from '../events/hub';
import { AppError } from '../errors';
import type { InboxEvent } from '../inbox/schemas';
import type { AppDeps, AuthState } from './context';

/** Proxies and load balancers close a connection that says nothing for a minute or so. */
const KEEPALIVE_MS = 25_000;
/** A client that stops reading but keeps its connection is let go past this much unsent; it resumes by Last-Event-ID. */
const MAX_UNSENT_BYTES = 1024 * 1024;

/** An event as the stream writes it, made once however many streams send it. */
const frames = new WeakMap<InboxEvent, string>();
function frame(e: InboxEvent): string {
  let text = frames.get(e);
  if (text === undefined) frames.set(e, (text = `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`));
  return text;
}

/**
 * GET /api/events: the account's changes as server-sent events, for the dashboard and for
 * integrations. Each event's `id:` is its position in the stream: a client that reconnects
 * (EventSource sends Last-Event-ID by itself) gets exactly what it missed, in order. The stream
 * starts with an `id:` of its own, so a client that reconnects before any event arrived resumes
 * too. One whose position was pruned (EVENTS_RETENTION_HOURS) gets a single `reset` event and
 * should reload its view. It ends when its session does.
 */
export function eventRoutes(deps: AppDeps, opts: { keepaliveMs?: number } = {}): Router<AuthState> {
  const router = new Router<AuthState>();

  router.get('/events', async (ctx) => {
    const hub = deps.events;
    if (!hub) throw new AppError(503, 'events_unavailable', 'this api process does not serve the event stream');
    const lastEventId = ctx.get('last-event-id') || (typeof ctx.query.last_event_id === 'string' ? ctx.query.last_event_id : '');
    const resumeFrom = lastEventId ? parsePosition(lastEventId) : undefined;
    if (lastEventId && !resumeFrom) throw new AppError(400, 'invalid_last_event_id', 'Last-Event-ID must be the id of an event this stream sent');
    const accountId = ctx.state.accountId;
    const p = ctx.state.principal;
    const owner = p.kind === 'user' ? { sessionId: p.sessionId } : { apiKeyId: p.keyId };

    const stream = new PassThrough();
    const write = (text: string) => {
      if (!stream.writable) return;
      if (stream.writableLength > MAX_UNSENT_BYTES) return sub.close();
      stream.write(text);
    };
    const send = (e: InboxEvent) => write(frame(e));
    const keepalive = setInterval(() => write(': keepalive\n\n'), opts.keepaliveMs ?? KEEPALIVE_MS);
    // Subscribed before anything is read: what happens from here on is buffered, not missed.
    const sub = hub.subscribe(accountId, owner, send, () => {
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

    try {
      let resumed = false;
      if (resumeFrom && (await hub.prunedAfter(resumeFrom))) {
        write(`event: reset\ndata: ${JSON.stringify({ reason: 'the events after Last-Event-ID are no longer kept; reload' })}\n\n`);
      } else if (resumeFrom) {
        sub.resumeAfter(resumeFrom);
        await hub.replay(accountId, resumeFrom, sub.from, (events) => sub.replayed(events));
        resumed = true;
      }
      // `ready`, with where this stream starts unless the client resumed from its own position: one that
      // reconnects before any event arrived resumes from here (after a reset too, instead of its pruned
      // position again). EventSource waits 3 s before reconnecting.
      write(`${resumed ? '' : `id: ${formatPosition(sub.position)}\n`}event: ready\ndata: {}\nretry: 3000\n\n`);
      sub.goLive();
    } catch (err) {
      deps.log.warn('event stream: replay failed; the client will reconnect', { error: String(err) });
      sub.close();
    }
  });

  return router;
}
