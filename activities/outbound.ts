import { ApplicationFailure, Context } from '@temporalio/activity';
import { ApplicationFailureCategory } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { adapterFor } from '../src/channels';
import { PlatformError } from '../src/channels/platform-error';
import type { AdapterContext, Attachment, OutboundFile, SendProgress } from '../src/channels/types';
import { openConfig } from '../src/channels/credentials';
import type { SecretBox } from '../src/crypto/secret-box';
import type { Knex } from 'knex';
import type { Db } from '../src/db/knex';
import { requireReconnect } from '../src/db/channel-status';
import { mediaLink } from '../src/http/media-links';
import { MESSAGE_NOT_FOUND, WAITING_FOR_CHANNEL } from '../src/temporal/failure-types';
import { REPLY_SEND_WINDOW_MS, sendAttemptFailedSignal, sendRetryDelayMs } from '../workflows/definitions';
import { platformFailure } from './platform-failure';

const HEARTBEAT_EVERY_MS = 5_000;

export interface SendOutboundResult {
  outcome: 'sent' | 'failed' | 'already_done';
  platformMessageId?: string;
  error?: string;
  /**
   * False when the platform took the reply but the database could not be told (an outage):
   * the workflow's history holds the fact, and the workflow records it (recordSent) once the
   * database is back, instead of the attempt failing and sending the reply again.
   */
  recorded?: boolean;
  /** The attempt that sent it, for recordSent. */
  attempts?: number;
}

interface Deps {
  db: Db;
  secrets: SecretBox;
  adapterContext: AdapterContext;
  /** Reports failed attempts to the conversation workflow, for its state query. */
  temporal?: Client;
  /** Where platforms reach PingBack (PUBLIC_BASE_URL): links to a reply's files start there. */
  publicBaseUrl?: string;
  /** How long a reply may wait for its channel to be reconnected (PARKED_REPLY_MAX_AGE_HOURS); at most a day. */
  parkedReplyMaxAgeMs?: number;
}

/** A reply not yet out: pending, or waiting for its channel to be reconnected. */
const UNSENT = ['pending', 'waiting_for_channel'];
/** How often a waiting reply looks at its channel again: a reconnected channel's replies go out within this. */
const PARKED_RETRY_MS = 10_000;
const PARKED_RETRY_MAX_MS = 60_000;
/**
 * No new part of a reply is begun past this much of an attempt (its timeout is 3 min; one part
 * may take a minute to upload and 15 s to post): an attempt never outlives its timeout while
 * sending, so the next one, which goes on from the last part recorded, never overlaps it.
 */
const SEND_BUDGET_MS = 60_000;

/**
 * How an attempt at a reply ended, for the worker's metrics (the SDK core serves them beside its
 * own): `pingback_sends`, one per attempt; and, once a reply is out or has failed for good,
 * `pingback_send_attempts`, the attempts it took. An attempt stopped by an error of PingBack's
 * own (the database away) is not counted here: `temporal_activity_execution_failed` has it.
 */
function countSend(channelType: string, outcome: 'sent' | 'failed' | 'retrying' | 'waiting_for_channel', attempt: number): void {
  const meter = Context.current().metricMeter;
  const tags = { channel_type: channelType, outcome };
  meter.createCounter('pingback_sends', 'attempts', 'Attempts to send a reply, by channel type and how each ended: sent, failed (for good), retrying, waiting_for_channel').add(1, tags);
  if (outcome === 'sent' || outcome === 'failed') {
    meter.createHistogram('pingback_send_attempts', 'int', 'attempts', 'Attempts a reply took until it was sent or failed for good, by channel type and outcome').record(attempt, tags);
  }
}

/**
 * Sends one pending reply through its channel's adapter. Runs once per Temporal
 * attempt: it re-reads the message and the channel every time, so a reply that
 * was already sent is not sent again and a channel switched off meanwhile stops it.
 */
export function makeOutboundActivities({ db, secrets, adapterContext, temporal, publicBaseUrl = '', parkedReplyMaxAgeMs = REPLY_SEND_WINDOW_MS }: Deps) {
  /**
   * `recordLater`: the workflow can record a sent reply itself (recordSent) when the database is
   * away just after the platform took it; workflows from before that (patched in) cannot.
   */
  async function sendOutbound({ messageId, recordLater = false }: { messageId: string; recordLater?: boolean }): Promise<SendOutboundResult> {
    const row = await db('messages as m')
      .join('conversations as c', 'c.id', 'm.conversation_id')
      .join('channels as ch', 'ch.id', 'c.channel_id')
      .join('contacts as ct', 'ct.id', 'c.contact_id')
      .where('m.id', messageId)
      .first(
        'm.status',
        'm.content',
        'm.platform_message_id',
        'm.metadata',
        'm.attachments',
        'm.conversation_id',
        'c.thread_key',
        'ct.platform_user_id',
        'ch.id as channel_id',
        'ch.type as channel_type',
        'ch.config',
        'ch.is_active',
        'm.created_at',
        'm.retried_at',
        'm.retries',
        'm.parked_at',
        'm.send_started_at',
        'ch.status as channel_status',
        'ch.status_message as channel_status_message',
      );
    if (!row) throw ApplicationFailure.nonRetryable(`message ${messageId} does not exist`, MESSAGE_NOT_FOUND);
    if (!UNSENT.includes(row.status)) return { outcome: 'already_done', platformMessageId: row.platform_message_id ?? undefined };

    const attempt = Context.current().info.attempt;
    const startedAt = Date.now();
    // Waited too long for its channel: failed, saying so (before the general day's limit, which it may equal).
    if (row.status === 'waiting_for_channel' && Date.now() - new Date(row.parked_at ?? row.created_at).getTime() > parkedReplyMaxAgeMs) {
      const reason = `not sent: the channel waited more than ${Math.round(parkedReplyMaxAgeMs / 3_600_000)} hours to be reconnected, and a reply that late is not sent`;
      await finish(messageId, { status: 'failed', error: reason, attempts: attempt });
      countSend(row.channel_type, 'failed', attempt);
      return { outcome: 'failed', error: reason };
    }
    // Written more than a day ago and still not out (an outage outlasting runs of the workflow): failed, not sent late.
    if (Date.now() - new Date(row.retried_at ?? row.created_at).getTime() > REPLY_SEND_WINDOW_MS) {
      const reason = 'not sent within 24 hours of being written: the platform could not be reached for that long';
      await finish(messageId, { status: 'failed', error: reason, attempts: attempt });
      countSend(row.channel_type, 'failed', attempt);
      return { outcome: 'failed', error: reason };
    }
    if (!row.is_active) {
      const reason = 'channel_inactive: the channel was deactivated before this reply could be sent';
      await finish(messageId, { status: 'failed', error: reason, attempts: attempt });
      countSend(row.channel_type, 'failed', attempt);
      return { outcome: 'failed', error: reason };
    }
    // Credentials the platform refused a moment ago would only be refused again: wait for new ones.
    if (row.channel_status === 'reconnect_required') return park(messageId, row.channel_status_message, attempt, row.channel_type);
    // Reconnected: it is an ordinary pending reply again, its wait over.
    if (row.status === 'waiting_for_channel') {
      await db('messages').where({ id: messageId, status: 'waiting_for_channel' }).update({ status: 'pending', error: null, parked_at: null, updated_at: db.fn.now() });
    }
    const adapter = adapterFor(row.channel_type);
    // Everything the send needs, read before the platform is called, so a failure here is no doubt about it.
    const cfg = adapter.config.parse(openConfig(secrets, row.channel_type, row.config, row.channel_id));
    const outbound = {
      // A retried reply is a new send (email: a new Message-ID, so a bounce of the old one does not match it).
      id: row.retries > 0 ? `${messageId}.r${row.retries}` : messageId,
      content: row.content,
      replyToPlatformMessageId: row.metadata?.reply_to_platform_message_id ?? null,
      ...(row.metadata?.template ? { template: row.metadata.template } : {}),
      ...(adapter.filesOut ? { files: await filesOf(row.attachments ?? [], row.channel_id), parts: progressOf(messageId, row.metadata?.parts_sent ?? {}, startedAt) } : {}),
      inReplyTo: adapter.threadsReplies ? await answeredMessage(row.conversation_id, row.metadata?.reply_to_message_id) : undefined,
    };
    // An earlier attempt began calling the platform and nobody heard how it ended (its worker
    // died, the call timed out, the database went away): the reply may be out already. No
    // platform but email (same Message-ID) can recognise a resend, so it is sent again, and
    // counted and logged where operators see it (docs/delivery.md).
    if (row.send_started_at) {
      Context.current().log.warn('sending a reply again whose earlier attempt may have reached the platform', { message_id: messageId, channel_type: row.channel_type, started_at: row.send_started_at });
      Context.current().metricMeter.createCounter('pingback_uncertain_sends', 'count', 'Replies sent again after an attempt whose outcome nobody heard (possible duplicates)').add(1, { channel_type: row.channel_type });
    }
    // Written down before the platform is called (a write that fails stops the attempt before it sends).
    // `metadata.uncertain_sends`: how many attempts of this reply may have reached the platform unheard.
    await db('messages')
      .where({ id: messageId, status: 'pending' })
      .update({
        send_started_at: db.fn.now(),
        attempts: attempt,
        ...(row.send_started_at ? { metadata: db.raw("jsonb_set(metadata, '{uncertain_sends}', to_jsonb(COALESCE((metadata->>'uncertain_sends')::int, 0) + 1))") } : {}),
      });
    // Alive while the platform takes its time (see the workflow's heartbeatTimeout).
    const beat = setInterval(() => Context.current().heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      const sent = await adapter.send(cfg, { threadKey: row.thread_key, platformUserId: row.platform_user_id }, outbound, adapterContext);
      countSend(row.channel_type, 'sent', attempt);
      // The platform has it now: failing to write that down must not turn into a resend. A blip is
      // waited out here; a longer outage is handed to the workflow, whose history now holds the fact.
      // (A workflow from before recordSent existed cannot take the fact over: its activity tries longer, then fails.)
      try {
        await persistently(() => recordSent({ messageId, platformMessageId: sent.platformMessageId, attempts: attempt }), recordLater ? 3 : 7);
      } catch (err) {
        if (!recordLater) throw err;
        Context.current().log.warn('reply sent, but the database cannot record it yet: the workflow records it when it is back', { message_id: messageId, error: String(err) });
        return { outcome: 'sent', platformMessageId: sent.platformMessageId, recorded: false, attempts: attempt };
      }
      return { outcome: 'sent', platformMessageId: sent.platformMessageId, recorded: true };
    } catch (err) {
      if (!(err instanceof PlatformError)) throw err;
      // Nothing of this attempt is in doubt when the platform refused it (a 4xx: it took nothing) or it
      // is known that nothing went out. A timeout, a broken connection, a 5xx from a gateway or an
      // answer cut off may hide a message the platform took: the marker stays, for the next attempt.
      const status = err.details.status;
      if (err.details.nothingSent || (status !== undefined && status >= 400 && status < 500)) {
        // This attempt's marker only: a late attempt must not clear the one of the attempt now running.
        await db('messages').where({ id: messageId, attempts: attempt }).update({ send_started_at: null }).catch(() => undefined);
      }
      if (!err.retryable) {
        if (err.kind === 'auth') {
          // Nothing gets through until someone gives the channel new credentials: it says so (once),
          // and this reply, like every one written meanwhile, waits for them.
          if (await requireReconnect(db, row.channel_id, `credentials rejected: ${err.message}; update the channel's credentials to reconnect it`, row.config)) {
            Context.current().log.warn('channel needs reconnecting: the platform refused its credentials', { channel_id: row.channel_id, error: err.message });
          }
          return park(messageId, err.message, attempt, row.channel_type);
        }
        await finish(messageId, { status: 'failed', error: err.message, attempts: attempt });
        countSend(row.channel_type, 'failed', attempt);
        throw platformFailure(err);
      }
      // When the next try comes: the platform's own delay, or the retry policy's backoff.
      const nextTryMs = err.details.retryAfterMs ?? sendRetryDelayMs(attempt);
      await db('messages')
        .where({ id: messageId, status: 'pending' })
        .update({ attempts: attempt, error: err.message, next_attempt_at: new Date(Date.now() + nextTryMs), updated_at: db.fn.now() });
      await reportAttempt({ messageId, attempt, error: err.message, retryInMs: err.details.retryAfterMs });
      countSend(row.channel_type, 'retrying', attempt);
      // Telegram's retry_after and its peers: the platform's delay, not our backoff.
      throw platformFailure(err);
    } finally {
      clearInterval(beat);
    }
  }

  /** The reply's files, in the order the agent attached them; each one's bytes read only when the adapter sends it. */
  async function filesOf(attachments: Attachment[], channelId: string): Promise<OutboundFile[]> {
    const ids = attachments.flatMap((a) => (a.storedMediaId ? [a.storedMediaId] : []));
    if (ids.length === 0) return [];
    const rows: Array<{ id: string; file_name: string | null; content_type: string; size: number }> = await db('stored_media')
      .where({ channel_id: channelId })
      .whereIn('id', ids)
      .select('id', 'file_name', 'content_type', 'size');
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => {
      const r = byId.get(id);
      // Swept or deleted since it was attached: nothing to send, and no point retrying.
      if (!r) throw ApplicationFailure.nonRetryable(`a file of this reply (${id}) is no longer stored`, MESSAGE_NOT_FOUND);
      const load = async () => {
        const row = await db('stored_media').where({ id, channel_id: channelId }).first('bytes');
        if (!row) throw ApplicationFailure.nonRetryable(`a file of this reply (${id}) is no longer stored`, MESSAGE_NOT_FOUND);
        return row.bytes as Buffer;
      };
      return {
        fileName: r.file_name ?? `file.${r.content_type.split('/')[1]?.replace(/[^a-z0-9]/gi, '') || 'bin'}`,
        contentType: r.content_type,
        size: r.size,
        load,
        link: mediaLink(publicBaseUrl, secrets, id),
      };
    });
  }

  /** What earlier attempts of a reply sent part by part (see SendProgress), and recording each part as it goes. */
  function progressOf(messageId: string, done: Record<string, string>, startedAt: number): SendProgress {
    const deadline = startedAt + SEND_BUDGET_MS;
    return {
      done,
      record: (part, platformMessageId) =>
        persistently(async () => {
          await db('messages')
            .where({ id: messageId })
            .update({
              metadata: db.raw("jsonb_set(metadata, '{parts_sent}', COALESCE(metadata->'parts_sent', '{}'::jsonb) || jsonb_build_object(?::text, ?::text))", [part, platformMessageId]),
              part_platform_ids: db.raw('array_append(part_platform_ids, ?::text)', [platformMessageId]),
            });
        }),
      beforePart: () => {
        if (Date.now() > deadline) throw new PlatformError('unavailable', "the reply's parts take long to send: the rest go in the next attempt", { nothingSent: true });
      },
    };
  }

  /**
   * A reply held until its channel is reconnected: shown waiting, and retried by Temporal every
   * PARKED_RETRY_MS without calling the platform (the channel's status is read first), so the
   * replies of a conversation go out in the order they were written once it is.
   */
  async function park(messageId: string, why: string | null, attempt: number, channelType: string): Promise<never> {
    await db('messages')
      .where({ id: messageId })
      .whereIn('status', UNSENT)
      .update({
        status: 'waiting_for_channel',
        error: why ? `waiting for the channel to be reconnected: ${why}` : null,
        next_attempt_at: null,
        parked_at: db.raw('COALESCE(parked_at, now())'),
        updated_at: db.fn.now(),
      });
    countSend(channelType, 'waiting_for_channel', attempt);
    throw ApplicationFailure.create({
      type: WAITING_FOR_CHANNEL,
      message: 'waiting for the channel to be reconnected',
      // Soon at first (a reconnect is often minutes away), then once a minute; not an error to alert on.
      nextRetryDelay: Math.min(PARKED_RETRY_MS * 2 ** Math.min(Math.max(attempt - 2, 0), 10), PARKED_RETRY_MAX_MS),
      category: ApplicationFailureCategory.BENIGN,
    });
  }

  /** The customer message a reply answers: the one the agent picked, else the conversation's latest. */
  async function answeredMessage(conversationId: string, pickedId: string | undefined) {
    const q = db('messages').where({ conversation_id: conversationId }).whereNotNull('platform_message_id');
    const row = await (pickedId ? q.andWhere({ id: pickedId }) : q.andWhere({ direction: 'inbound' }).orderBy('seq', 'desc')).first('platform_message_id', 'metadata');
    return row ? { platformMessageId: row.platform_message_id as string, metadata: (row.metadata ?? {}) as Record<string, unknown> } : null;
  }

  /** After the workflow gave up (timeout) on a reply: failed, with the last platform error kept. */
  async function markOutboundFailed({ messageId, reason }: { messageId: string; reason: string }): Promise<void> {
    await db('messages')
      .where({ id: messageId })
      .whereIn('status', UNSENT)
      .whereExists(conversationRowShared)
      .update({
        status: 'failed',
        error: db.raw("CASE WHEN error IS NULL THEN ? ELSE ? || ' (last error: ' || error || ')' END", [reason, reason]),
        next_attempt_at: null,
        send_started_at: null,
        updated_at: db.fn.now(),
      });
  }

  /** The platform's id of a reply it took: sent. Idempotent; a reply recorded otherwise meanwhile (failed by a timeout) is left as it is. */
  async function recordSent({ messageId, platformMessageId, attempts }: { messageId: string; platformMessageId: string; attempts: number }): Promise<void> {
    await finish(messageId, { status: 'sent', platform_message_id: platformMessageId, error: null, attempts, sent_at: db.fn.now() });
  }

  async function persistently(write: () => Promise<void>, tries = 7): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        return await write();
      } catch (err) {
        if (i >= tries - 1) throw err;
        await new Promise((r) => setTimeout(r, 250 * 2 ** i));
        Context.current().heartbeat();
      }
    }
  }

  async function finish(messageId: string, fields: Record<string, unknown>) {
    // Only a reply not yet out moves; a late duplicate attempt cannot undo a recorded outcome.
    await db('messages')
      .where({ id: messageId })
      .whereIn('status', UNSENT)
      .whereExists(conversationRowShared)
      .update({ ...fields, next_attempt_at: null, send_started_at: null, updated_at: db.fn.now() });
  }

  /**
   * Waits for any inbound write of the same conversation in flight to commit before a reply's
   * outcome does. persistInbound holds the conversation's row while it takes its seqs, so rows
   * become visible in seq order and a reader following seq (the web chat widget's cursor) never
   * passes an inbound message that is still being written. FOR SHARE: outcomes do not wait on each other.
   */
  function conversationRowShared(this: Knex.QueryBuilder) {
    this.select(db.raw('1')).from('conversations as c').whereRaw('c.id = messages.conversation_id').forShare();
  }

  async function reportAttempt(report: { messageId: string; attempt: number; error: string; retryInMs?: number }) {
    if (!temporal) return;
    const workflowId = Context.current().info.workflowExecution?.workflowId;
    if (!workflowId) return;
    // Best effort: the state query is a view; the database has the same facts.
    await temporal.workflow.getHandle(workflowId).signal(sendAttemptFailedSignal, report).catch(() => undefined);
  }

  /**
   * A failed reply an agent retries, pending again (its last error cleared, the time of the retry
   * kept), answering whether it was still failed: the conversation workflow then queues it.
   */
  async function requeueFailedReply({ messageId }: { messageId: string }): Promise<{ requeued: boolean; status: string }> {
    return db.transaction(async (trx) => {
      // The conversation's row first, as a new reply's seq is taken: rows become visible in seq order (the widget's cursor).
      const msg = await trx('messages').where({ id: messageId }).first('conversation_id');
      if (!msg) return { requeued: false, status: 'not_found' };
      await trx('conversations').where({ id: msg.conversation_id }).forNoKeyUpdate().first('id');
      const [row] = await trx('messages')
        .where({ id: messageId, direction: 'outbound', status: 'failed' })
        // A new send: nothing of the failed one stays to be matched by a late status or bounce for it, and it
        // takes a new place at the end of the timeline, where a visitor's widget (past the old one) will see it.
        .update({
          status: 'pending',
          error: null,
          next_attempt_at: null,
          platform_message_id: null,
          sent_at: null,
          attempts: 0,
          parked_at: null,
          send_started_at: null,
          // The platform failed some parts afterwards (statuses; see statuses.ts): those go again, the
          // rest stay recorded. Failed part-way (no platform id yet), the parts already out are not sent
          // twice either. A reply of one message the platform failed afterwards goes again whole.
          metadata: trx.raw(
            `CASE WHEN metadata \\? 'failed_parts' THEN jsonb_set(metadata - 'failed_parts', '{parts_sent}', (metadata->'parts_sent') - ARRAY(SELECT jsonb_array_elements_text(metadata->'failed_parts')))
                  WHEN platform_message_id IS NOT NULL THEN metadata - 'parts_sent'
                  ELSE metadata END`,
          ),
          part_platform_ids: trx.raw(
            `CASE WHEN metadata \\? 'failed_parts' THEN ARRAY(SELECT x FROM unnest(part_platform_ids) x WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(metadata->'failed_parts') k WHERE metadata->'parts_sent'->>k = x))
                  WHEN platform_message_id IS NOT NULL THEN '{}'
                  ELSE part_platform_ids END`,
          ),
          retried_at: trx.fn.now(),
          retries: trx.raw('retries + 1'),
          seq: trx.raw("nextval(pg_get_serial_sequence('messages', 'seq'))"),
          updated_at: trx.fn.now(),
        })
        .returning('status');
      if (row) return { requeued: true, status: row.status };
      const now = await trx('messages').where({ id: messageId }).first('status');
      return { requeued: false, status: now?.status ?? 'not_found' };
    });
  }

  return { sendOutbound, recordSent, markOutboundFailed, requeueFailedReply };
}
