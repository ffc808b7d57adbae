import { createHash } from 'node:crypto';
import { conversationRef, type ArrivedFile, type ChannelType, type InboundEvent, type InboundMessage, type InboundOutcome } from '../channels/types';
import { recordIgnoredEvents, type IgnoredEvent } from '../db/ignored-events';
import type { Db } from '../db/knex';
import { keepArrivedFiles, type ArrivedFileLimits } from '../db/stored-media';
import { describeDbError, isDataError } from '../db/pg-errors';
import type { ConversationSignaller } from '../temporal/conversations';

export interface InboundDeps {
  db: Db;
  signaller: ConversationSignaller;
}

/** Threads of one delivery signalled at once, at most. */
const MAX_PARALLEL_THREADS = 8;

/** An event that goes to a conversation's workflow. */
type Routed = Extract<InboundEvent, { kind: 'message' | 'status' }>;

export type InboundChannel = { id: string; account_id: string; type: ChannelType };

/** A stable key for something a platform sent without an id of its own (the same bytes, the same key). */
export const digestKey = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex').slice(0, 40);

/**
 * Where every inbound event goes, from a webhook or a poll alike: a message to its
 * conversation's workflow (signal-with-start), a delivery report to the workflow of the
 * conversation it belongs to, anything else into ignored_events with its reason, so nobody
 * has to wonder where it went. `owns` refuses events for another platform account of the
 * same app (Meta) as `foreignReason`.
 *
 * Signals of one thread go in the order the platform sent them; different threads go in
 * parallel. What was set aside is recorded even when a signal failed, and then the failure is
 * thrown (the platform redelivers; what did get through is a no-op the second time).
 */
export async function deliverEvents(
  deps: InboundDeps,
  channel: InboundChannel,
  events: InboundEvent[],
  opts: { owns?: (owner: string) => boolean | Promise<boolean>; foreignReason?: string; fileLimits?: ArrivedFileLimits } = {},
): Promise<InboundOutcome> {
  const outcome: InboundOutcome = { messages: 0, statuses: 0, ignored: [], skipped: [] };
  const setAside: IgnoredEvent[] = [];
  const ignore = (reason: string, eventId: string | undefined, payload: unknown) => {
    setAside.push({ channel_id: channel.id, reason, platform_event_id: eventId ?? digestKey(JSON.stringify(payload) ?? ''), payload });
    outcome.ignored.push(reason);
  };

  const threads = new Map<string, Routed[]>();
  for (const ev of events) {
    if (ev.kind === 'ignored') ignore(ev.reason, ev.eventId, ev.payload);
    else if (ev.kind === 'skipped') outcome.skipped.push(ev.reason);
    else if (ev.owner !== undefined && opts.owns && !(await opts.owns(ev.owner))) {
      // One app's webhooks reach one URL: another number or account of the same app lands here.
      const event = ev.kind === 'message' ? ev.message : ev.update;
      ignore(opts.foreignReason ?? 'not_for_this_channel', eventIdOf(ev), { owner: ev.owner, event });
    } else {
      const key = ev.kind === 'message' ? ev.message.threadKey : ev.threadKey;
      threads.set(key, [...(threads.get(key) ?? []), ev]);
    }
  }

  const deliverThread = async ([threadKey, thread]: [string, Routed[]]) => {
    const ref = conversationRef(channel, threadKey);
    for (const ev of thread) {
      try {
        if (ev.kind === 'message') {
          const message = ev.files?.length ? await withKeptFiles(deps.db, channel, ev.message, ev.files, opts.fileLimits) : ev.message;
          if (typeof message.metadata.files_dropped === 'string') (outcome.filesDropped ??= []).push(message.metadata.files_dropped);
          await deps.signaller.inbound(ref, message);
          outcome.messages++;
        } else if ((await deps.signaller.messageStatus(ref, ev.update, (workflowId) => conversationExists(deps.db, workflowId))) === 'no_conversation') {
          // A status for a message PingBack never sent (another tool on the same number, a bounce of someone else's mail).
          ignore('unknown_message', eventIdOf(ev), ev.payload ?? ev.update);
        } else {
          outcome.statuses++;
        }
      } catch (err) {
        // An outage is thrown (the platform redelivers, the poller retries); an event refused for
        // what it is would be refused every time, and hold up its mailbox or feed: set aside.
        const problem = permanentFailure(err);
        if (!problem) throw err;
        ignore('unprocessable', eventIdOf(ev), { problem, event: ev.kind === 'message' ? { ...ev.message, content: ev.message.content.slice(0, 2_000) } : ev.update });
      }
    }
  };
  // A few threads at a time: one Meta POST may carry a thousand, and each is a call to Temporal.
  const queue = [...threads.entries()];
  const results: PromiseSettledResult<void>[] = [];
  await Promise.all(
    Array.from({ length: Math.min(MAX_PARALLEL_THREADS, queue.length) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        results.push(await deliverThread(next).then((value) => ({ status: 'fulfilled' as const, value }), (reason: unknown) => ({ status: 'rejected' as const, reason })));
      }
    }),
  );
  await recordIgnoredEvents(deps.db, setAside);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  return outcome;
}

/** A whole delivery acknowledged but not routed (its channel is off, it is another account's): kept once under each id. */
export function setAsideWhole(db: Db, channelId: string, reason: string, whole: { ids: string[]; payload: unknown }): Promise<void> {
  return recordIgnoredEvents(db, whole.ids.map((id) => ({ channel_id: channelId, reason, platform_event_id: id, payload: whole.payload })));
}

/**
 * Why an event can never be delivered, or undefined for a failure that may pass (an outage):
 * PostgreSQL refusing its data, Temporal refusing its payload as too large. Looked for along the error's causes (the signaller wraps what Temporal says).
 */
export function permanentFailure(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; message?: string; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (isDataError(e)) return describeDbError(e);
    // Only a payload too large is the event's own fault: Temporal says INVALID_ARGUMENT for other
    // things too (a run's signal limit, a search attribute not registered), which pass.
    if (e.code === GRPC_INVALID_ARGUMENT && typeof e.message === 'string' && TOO_LARGE.test(e.message)) return `Temporal refused it: ${e.message.slice(0, 500)}`;
  }
  return undefined;
}
const GRPC_INVALID_ARGUMENT = 3;
const TOO_LARGE = /blob data size|size exceeds|payload.*too large/i;

function eventIdOf(ev: Routed): string {
  if (ev.kind === 'message') return ev.message.platformMessageId;
  return ev.eventId ?? `${ev.update.platformMessageId}:${ev.update.status}`;
}

/**
 * Files that came with the message and that no platform keeps (mail posted to a webhook):
 * stored before the signal, keyed by the message's id and their place in it, so a
 * platform's retry stores nothing twice.
 */
async function withKeptFiles(db: Db, channel: InboundChannel, message: InboundMessage, files: ArrivedFile[], limits?: ArrivedFileLimits): Promise<InboundMessage> {
  // The message id can be long (a Message-ID): hashed.
  const key = createHash('sha256').update(message.platformMessageId).digest('hex').slice(0, 32);
  const kept = await keepArrivedFiles(
    db,
    channel,
    message.contact.platformUserId,
    files.map((f, i) => ({ clientId: `mail:${key}:${i}`, contentType: f.contentType, fileName: f.fileName, bytes: f.content })),
    limits,
  );
  // Past a limit the message is still the customer's words: it goes in, saying its files were not kept.
  if ('dropped' in kept) return { ...message, attachments: message.attachments.map((a) => ({ ...a, dropped: kept.dropped })), metadata: { ...message.metadata, files_dropped: kept.dropped } };
  return { ...message, attachments: message.attachments.map((a, i) => ({ ...a, storedMediaId: kept.ids[i] })) };
}

/** Whether PingBack has this conversation (its workflow's run may have ended after a quiet period). */
async function conversationExists(db: Db, workflowId: string): Promise<boolean> {
  return Boolean(await db('conversations').where({ workflow_id: workflowId }).first('id'));
}
