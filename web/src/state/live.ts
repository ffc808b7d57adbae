import { signal } from '@preact/signals';
import { get } from '../api/client';
import { EVENT_TYPES, type InboxEvent } from '../api/types';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting';
export const liveStatus = signal<LiveStatus>('connecting');

type Handler = (event: InboxEvent) => void;
const handlers = new Set<Handler>();
const resetHandlers = new Set<() => void>();

/** Every event of the account, in order, to whoever listens (the inbox, the open conversation, the channels). */
export function onEvent(handler: Handler): () => void {
  handlers.add(handler);
  return () => handlers.delete(handler);
}

/** Reload what is on screen: the server could not replay what was missed, or the stream just started. */
export function onReset(handler: () => void): () => void {
  resetHandlers.add(handler);
  return () => resetHandlers.delete(handler);
}
const reset = () => {
  for (const h of resetHandlers) h();
};

/**
 * The page's event stream. EventSource reconnects by itself after a network error, sending
 * Last-Event-ID so the server replays what was missed. After an answer that is not a stream (a
 * proxy's 502 during a deploy, a 503) it gives up for good, so this connects again itself, from
 * the last id it saw; a 401 means the session ended, which /api/me then tells the app.
 */
export function connectLive(): () => void {
  let source: EventSource | undefined;
  let lastId: string | undefined;
  let stopped = false;
  let retryMs = 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let first = true;

  const open = () => {
    const es = new EventSource(lastId ? `/api/events?last_event_id=${encodeURIComponent(lastId)}` : '/api/events');
    source = es;
    const deliver = (m: MessageEvent) => {
      if (m.lastEventId) lastId = m.lastEventId;
      const event = JSON.parse(m.data) as InboxEvent;
      for (const h of handlers) h(event);
    };
    for (const type of EVENT_TYPES) es.addEventListener(type, deliver as EventListener);
    es.addEventListener('ready', (m) => {
      if ((m as MessageEvent).lastEventId) lastId = (m as MessageEvent).lastEventId;
      liveStatus.value = 'live';
      retryMs = 1000;
      // What changed between the page's first reads and the stream's start is in neither: read again once.
      if (first) reset();
      first = false;
    });
    es.addEventListener('reset', reset);
    es.onerror = () => {
      liveStatus.value = 'reconnecting';
      if (es.readyState !== EventSource.CLOSED || stopped) return;
      timer = setTimeout(async () => {
        // A 401 here signs the page out (api/client.ts); anything else, try the stream again.
        await get('/api/me').catch(() => undefined);
        if (!stopped) open();
      }, retryMs);
      retryMs = Math.min(retryMs * 2, 30_000);
    };
  };
  liveStatus.value = 'connecting';
  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    source?.close();
  };
}
