import type { ImapFlow } from 'imapflow';
import { advanceMailboxCursor, readMailboxCursor, readPlatformState, recordPlatformAccount } from '../../db/channel-state';
import type { PollCapability, PollContext, PollPage } from '../types';
import { emailAccountId, type EmailConfig } from './config';
import { withImap, type ImapSettings } from './imap';
import { mailServerPolicy } from './mail-server';
import { checkedEmailEvent } from './inbound';
import { MAX_MAIL_BYTES, parseEmail, unreadableEmail } from './parse';

/** Mail a poll hands on per activity call: a long backlog is many short calls, each one's progress kept. */
export const MAILS_PER_CALL = 50;
/** Mail delivered this long before the channel was created still counts (clocks differ; INTERNALDATE has whole seconds). */
const SINCE_MARGIN_MS = 60_000;
/** SEARCH SINCE compares dates in the server's time zone, not UTC (RFC 3501 §6.4.4): ask from a day earlier, then filter exactly. */
const SEARCH_SINCE_SLACK_MS = 86_400_000;
/** The poll heartbeats this often while it works, so a slow server or a large mail is not taken for a dead worker. */
const HEARTBEAT_EVERY_MS = 10_000;

/**
 * An email channel's IMAP mailbox. It is opened read-only (EXAMINE): PingBack never marks a
 * customer's mail as read or moves it, so people reading the same mailbox see it as before.
 * Mail is handed on in UID order, and the cursor moved past each one after it is signalled,
 * so a crash repeats at most one mail, which its Message-ID then stores once.
 */
export const emailPoll: PollCapability<EmailConfig> = {
  polls: (cfg) => cfg.inbound.method === 'imap',
  pausedMessage: (reason) => `reading the mailbox failed: ${reason}; update the channel's settings`,

  async poll(cfg, ctx): Promise<PollPage> {
    const inbound = cfg.inbound;
    if (inbound.method !== 'imap') throw new Error('emailPoll called for a channel without IMAP inbound');
    const { db, channel } = ctx;
    // Another server, login or folder is another mailbox: its cursor starts afresh (recordPlatformAccount).
    let state = await readPlatformState(db, channel.id);
    if (state?.platform_account_id !== emailAccountId(cfg)) {
      await recordPlatformAccount(db, channel.id, emailAccountId(cfg));
      state = await readPlatformState(db, channel.id);
    }
    const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      const { count, more } = await withImap(inbound, mailServerPolicy(ctx.adapterContext), (client) =>
        handOnNewMail(client, ctx, cfg, inbound, state!.inbound_cursor, state!.inbound_since),
      );
      return more ? { outcome: 'paging', handedOn: count } : { outcome: 'polled', handedOn: count, waitMs: inbound.poll_interval_seconds * 1000 };
    } finally {
      clearInterval(beat);
    }
  },
};

async function handOnNewMail(client: ImapFlow, ctx: PollContext, cfg: EmailConfig, inbound: ImapSettings, cursorText: string | null, since: Date): Promise<{ count: number; more: boolean }> {
  const { db, channel } = ctx;
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
      if (newest > 0) await advanceMailboxCursor(db, channel.id, uidValidity, newest);
      return { count: 0, more: false };
    }
  }
  uids.sort((a, b) => a - b);
  const batch = uids.slice(0, MAILS_PER_CALL);
  let count = 0;
  // Each mail's sender check can take seconds when DNS is slow: the call ends well inside its
  // activity's five minutes, and says there is more (the cursor is where the last mail left it).
  const until = Date.now() + BATCH_BUDGET_MS;
  for (const [i, uid] of batch.entries()) {
    if (ctx.signal.aborted || (i > 0 && Date.now() > until)) return { count, more: true };
    const mail = await client.fetchOne(String(uid), { uid: true, source: { maxLength: MAX_MAIL_BYTES } }, { uid: true });
    if (mail && mail.source) {
      const parsed = await parseEmail(mail.source).catch((err: Error) => unreadableEmail(mail.source!, err));
      // The files stay in the mailbox: fetched when an agent opens one (./media.ts).
      count += (await ctx.deliver([await checkedEmailEvent(mail.source, parsed, cfg, ctx.adapterContext, { keepFiles: false })])).messages;
    }
    // A UID that vanished meanwhile (expunged by someone reading the mailbox) is simply passed.
    await advanceMailboxCursor(db, channel.id, uidValidity, uid);
    ctx.heartbeat();
  }
  return { count, more: uids.length > batch.length };
}

/** How long one poll call hands on mail before it returns and the poller calls again. */
const BATCH_BUDGET_MS = 2 * 60_000;
