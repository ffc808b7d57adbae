import { signal } from '@preact/signals';
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

/** After a reconnect that could not replay what was missed: reload what is on screen. */
export function onReset(handler: () => void): () => void {
  resetHandlers.add(handler);
  return () => resetHandlers.delete(handler);
}

let source: EventSource | undefined;

/**
 * One EventSource for the page. It reconnects by itself and sends Last-Event-ID, so the server
 * replays what happened meanwhile; while it cannot, the app says "reconnecting".
 */
export function connectLive(): () => void {
  source?.close();
  const es = new EventSource('/api/events');
  source = es;
  liveStatus.value = 'connecting';
  es.onopen = () => (liveStatus.value = 'live');
  es.onerror = () => {
    if (es.readyState !== EventSource.OPEN) liveStatus.value = 'reconnecting';
  };
  const deliver = (m: MessageEvent) => {
    const event = JSON.parse(m.data) as InboxEvent;
    for (const h of handlers) h(event);
  };
  for (const type of EVENT_TYPES) es.addEventListener(type, deliver as EventListener);
  es.addEventListener('reset', () => {
    for (const h of resetHandlers) h();
  });
  return () => {
    es.close();
    if (source === es) source = undefined;
  };
}
