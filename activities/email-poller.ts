import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { ImapFlow } from 'imapflow';
import { emailAccountId, emailAdapter } from '../src/channels/email/adapter';
import type { EmailConfig } from '../src/channels/email/config';
import { withImap, type ImapSettings } from '../src/channels/email/imap';
import { MAX_MAIL_BYTES, parseEmail, unreadableEmail } from '../src/channels/email/parse';
import { openConfig } from '../src/channels/credentials';
import { PlatformError } from '../src/channels/platform-error';
import type { AdapterContext, ChannelType } from '../src/channels/types';
import type { SecretBox } from '../src/crypto/secret-box';
import { advanceMailboxCursor, readMailboxCursor, readPlatformState, recordPlatformAccount } from '../src/db/channel-state';
import type { Db } from '../src/db/knex';
import { conversationSignaller } from '../src/temporal/conversations';
import { emailEvent } from '../src/channels/email/inbound';
import { deliverEvents } from '../src/inbound/deliver';
import { platformFailure } from './platform-failure';

interface Deps {
  db: Db;
  secrets: SecretBox;
  adapterContext: AdapterContext;
  temporal?: Client;
}

/** Like every poller's answer: when it ran, and how long to wait (the workflow reads no clock). */
export type PollEmailResult = { polledAt: string; waitMs: number } & (
  | { outcome: 'stopped'; reason: 'channel_not_found' | 'channel_inactive' | 'not_polling' }
  | { outcome: 'paused'; reason: string }
  /** MAILS_PER_CALL handed on and more are waiting: call again at once. */
  | { outcome: 'more'; handedOn: number }
  | { outcome: 'polled'; handedOn: number }
);

/** Mail a poll hands on per activity call: a long backlog is many short calls, each one's progress kept. */
export const MAILS_PER_CALL = 50;
/** Mail delivered this long before the channel was created still counts (clocks differ; INTERNALDATE has whole seconds). */
const SINCE_MARGIN_MS = 60_000;
/** SEARCH SINCE compares dates in the server's time zone, not UTC (RFC 3501 §6.4.4): ask from a day earlier, then filter exactly. */
const SEARCH_SINCE_SLACK_MS = 86_400_000;
/** The activity heartbeats this often while it works, so a slow server or a large mail is not taken for a dead worker. */
const HEARTBEAT_EVERY_MS = 10_000;
const SIGNAL_TIMEOUT_MS = 10_000;

/**
 * One poll of an email channel's IMAP mailbox. The mailbox is opened read-only (EXAMINE):
 * PingBack never marks a customer's mail as read or moves it, so people reading the same
 * mailbox see it as before. Mail is handed on in UID order, and the cursor moved past each
 * one after it is signalled, so a crash repeats at most one mail, which its Message-ID
 * then stores once.
 */
export function makeEmailPollerActivities({ db, secrets, adapterContext, temporal }: Deps) {
  async function pollEmailInbox({ channelId }: { channelId: string }): Promise<PollEmailResult> {
    const polledAt = new Date().toISOString();
    const ch = await db('channels').where({ id: channelId, type: 'email' }).first('id', 'account_id', 'type', 'is_active', 'config');
    if (!ch) return { outcome: 'stopped', reason: 'channel_not_found', polledAt, waitMs: 0 };
    if (!ch.is_active) return { outcome: 'stopped', reason: 'channel_inactive', polledAt, waitMs: 0 };
    const cfg = emailAdapter.config.parse(openConfig(secrets, 'email', ch.config)) as EmailConfig;
    const inbound = cfg.inbound;
    if (inbound.method !== 'imap') return { outcome: 'stopped', reason: 'not_polling', polledAt, waitMs: 0 };
    if (!temporal) throw new Error('pollEmailInbox needs a Temporal client to signal conversations');

    // Another server, login or folder is another mailbox: its cursor starts afresh (recordPlatformAccount).
    let state = await readPlatformState(db, ch.id);
    if (state?.platform_account_id !== emailAccountId(cfg)) {
      await recordPlatformAccount(db, ch.id, emailAccountId(cfg));
      state = await readPlatformState(db, ch.id);
    }
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      const handedOn = await withImap(inbound, { ca: adapterContext.emailTlsCa }, (client) =>
        handOnNewMail(client, ch, inbound, state!.inbound_cursor, state!.inbound_since),
      );
      if (handedOn.more) return { outcome: 'more', handedOn: handedOn.count, polledAt, waitMs: 0 };
      return { outcome: 'polled', handedOn: handedOn.count, polledAt, waitMs: inbound.poll_interval_seconds * 1000 };
    } catch (err) {
      if (!(err instanceof PlatformError)) throw err;
      if (err.retryable) throw platformFailure(err);
      // A refused login or a missing folder: say so where the user looks, and wait for new settings.
      await db('channels')
        .where({ id: ch.id })
        .update({ status: 'error', status_message: `reading the mailbox failed: ${err.message}; update the channel's settings`, updated_at: db.fn.now() });
      return { outcome: 'paused', reason: err.message, polledAt, waitMs: 0 };
    } finally {
      clearInterval(beat);
    }
  }

  async function handOnNewMail(
    client: ImapFlow,
    ch: { id: string; account_id: string; type: ChannelType },
    inbound: ImapSettings,
    cursorText: string | null,
    since: Date,
  ): Promise<{ count: number; more: boolean }> {
    const ctx = Context.current();
    const box = await client.mailboxOpen(inbound.mailbox, { readOnly: true });
    const uidValidity = String(box.uidValidity);
    const cursor = readMailboxCursor(cursorText);
    let uids: number[];
    if (cursor && cursor.uidValidity === uidValidity) {
      // "n:*" always includes the newest message, even when its UID is below n (RFC 3501 §6.4.8).
      uids = ((await client.search({ uid: `${cursor.uid + 1}:*` }, { uid: true })) || []).filter((u) => u > cursor.uid);
    } else {
      // No cursor yet, or the mailbox was rebuilt (its UIDs renumbered): everything since the
      // channel began, by the server's own arrival time. What was handed on before is stored once again at most.
      const from = new Date(since.getTime() - SINCE_MARGIN_MS);
      const candidates = (await client.search({ since: new Date(from.getTime() - SEARCH_SINCE_SLACK_MS) }, { uid: true })) || [];
      uids = [];
      if (candidates.length > 0) {
        for await (const m of client.fetch(candidates.join(','), { uid: true, internalDate: true }, { uid: true })) {
          if (m.internalDate && new Date(m.internalDate).getTime() >= from.getTime()) uids.push(m.uid);
        }
      }
      if (uids.length === 0) {
        // Nothing to hand on: remember where the mailbox stands, so the next poll asks only for what is new
        // (a server that does not say UIDNEXT is simply searched by date again).
        const newest = Number(box.uidNext ?? 0) - 1;
        if (newest > 0) await advanceMailboxCursor(db, ch.id, uidValidity, newest);
        return { count: 0, more: false };
      }
    }
    uids.sort((a, b) => a - b);
    const batch = uids.slice(0, MAILS_PER_CALL);
    const signaller = conversationSignaller(temporal!, ctx.info.taskQueue, SIGNAL_TIMEOUT_MS);
    let count = 0;
    for (const uid of batch) {
      const mail = await client.fetchOne(String(uid), { uid: true, source: { maxLength: MAX_MAIL_BYTES } }, { uid: true });
      if (mail && mail.source) {
        const parsed = await parseEmail(mail.source).catch((err: Error) => unreadableEmail(mail.source!, err));
        if ((await deliverEvents({ db, signaller }, ch, [emailEvent(parsed, { keepFiles: false })])).messages) count++;
      }
      // A UID that vanished meanwhile (expunged by someone reading the mailbox) is simply passed.
      await advanceMailboxCursor(db, ch.id, uidValidity, uid);
      ctx.heartbeat();
    }
    return { count, more: uids.length > batch.length };
  }

  return { pollEmailInbox };
}

