import { Client } from 'pg';
import type { Db } from '../db/knex';
import type { Logger } from '../log';
import type { InboxEvent } from '../inbox/schemas';
import { EVENT_COLUMNS, EventRow, presentEvents } from './present';

/**
 * Where a reader is in the events table: an event's id, which is also its SSE `id:`. Every id
 * up to a reader's position is settled: its event was read, or will never exist.
 */
export type Position = bigint;
const MAX_BIGINT = 2n ** 63n - 1n;
export const formatPosition = (p: Position) => String(p);

/** A Last-Event-ID as this stream writes them, or undefined for anything else. */
export function parsePosition(text: string): Position | undefined {
  if (!/^\d{1,19}$/.test(text)) return undefined;
  const p = BigInt(text);
  return p <= MAX_BIGINT ? p : undefined;
}

export interface PositionedEvent {
  position: Position;
  event: InboxEvent;
}

/** Whose stream it is: checked again when sessions end or keys are revoked. */
export type StreamOwner = { sessionId: string } | { apiKeyId: string };

/** One open stream: it gets its account's events from the hub, in order, each once. */
export class Subscription {
  private buffered: PositionedEvent[] | undefined = [];
  private sent: Position;
  private closed = false;

  constructor(
    readonly accountId: string,
    readonly owner: StreamOwner,
    /** Everything up to here was dispatched before this subscription existed. */
    readonly from: Position,
    private readonly send: (event: InboxEvent) => void,
    private readonly onClose: () => void,
  ) {
    this.sent = from;
  }

  /** Ends it, once: by its client going away, its session ending, or the hub shutting down. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }

  /** From the hub: held back while the subscriber replays what it missed. */
  deliver(events: PositionedEvent[]): void {
    if (this.buffered) this.buffered.push(...events);
    else this.write(events);
  }

  /**
   * Replays from where the client was: events up to `from` (written by the caller), then the
   * live ones held back. A client that saw more than this process has dispatched yet (it was
   * connected to a process further along) skips what it saw.
   */
  resumeAfter(position: Position): void {
    if (position > this.sent) this.sent = position;
  }

  replayed(events: PositionedEvent[]): void {
    this.write(events, true);
  }

  goLive(): void {
    const held = this.buffered ?? [];
    this.buffered = undefined;
    this.write(held);
  }

  /** The position after everything sent so far: the stream's first `id:` before any event. */
  get position(): Position {
    return this.sent;
  }

  private write(events: PositionedEvent[], replay = false): void {
    for (const e of events) {
      if (replay) {
        this.send(e.event);
        continue;
      }
      if (e.position <= this.sent) continue;
      this.sent = e.position;
      this.send(e.event);
    }
  }
}

const BATCH = 500;
/** How soon to look again while an older transaction still holds back newer events. */
const HELD_BACK_RECHECK_MS = 50;
/** A look every so often even without a notification: LISTEN misses what happens while it reconnects. */
const SAFETY_POLL_MS = 2_000;
/** Streams of sessions that merely went idle are found this often (ended ones at once, by NOTIFY). */
const REVALIDATE_MS = 60_000;

export interface EventHubOptions {
  /** Which of these owners may still read the stream (their session live, their key not revoked). */
  stillAllowed(owners: StreamOwner[]): Promise<{ sessions: Set<string>; apiKeys: Set<string> }>;
}

/**
 * Each api process's one reader of the events table. Writers' triggers NOTIFY on commit;
 * the hub reads the new rows once, reads the snapshots of what they name once per account,
 * and hands them to every stream of that account, so 200 open streams cost one read, not
 * 200. A stream that reconnects replays from the table by itself (replay), then joins.
 *
 * Ids are taken before commit, so the table can show id 12 while 11 is still to come (its
 * transaction commits later) or will never come (it rolled back). The hub stops at such a
 * gap until every transaction that was writing events when it saw the gap has ended (only
 * those can hold the missing id, since an id is taken by an INSERT that already holds its
 * lock on the table), then reads again, since one of them may have filled it meanwhile. Others' transactions, however long, hold nothing up (PostgreSQL's
 * pg_locks, readable by any role, names them).
 */
export class EventHub {
  private position: Position = 0n;
  /**
   * The gaps the hub waits at: from `at` up to `upTo` (the last row of the read that found them),
   * the transactions that were writing events just after that read, and whether all of them
   * have ended since (`settled`: a read started after that passes every gap below `upTo`).
   */
  private gap: { at: Position; upTo: Position; writers: string[]; settled: boolean } | undefined;
  private readonly subscriptions = new Map<string, Set<Subscription>>();
  private listener: Client | undefined;
  private pumping: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private revalidateTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly databaseUrl: string,
    private readonly log: Logger,
    private readonly options: EventHubOptions,
  ) {}

  async start(): Promise<void> {
    // The newest id, once the transactions writing when it was read are done: none below it is still to come.
    const newest = BigInt((await this.db.raw('SELECT coalesce(max(id), 0)::text AS id FROM events')).rows[0].id);
    const writers = await this.eventWriters();
    while (writers.length > 0 && (await this.stillRunning(writers)) && !this.closed) await new Promise((r) => setTimeout(r, HELD_BACK_RECHECK_MS));
    this.position = newest;
    await this.listen();
    this.schedule(SAFETY_POLL_MS);
    this.revalidateTimer = setInterval(() => void this.revalidate(), REVALIDATE_MS).unref();
  }

  /** A new stream of the account's events from now on; `from` is where a replay must stop. `onClose` runs once, when it ends. */
  subscribe(accountId: string, owner: StreamOwner, send: (event: InboxEvent) => void, onClose: () => void = () => undefined): Subscription {
    const subs = this.subscriptions.get(accountId) ?? new Set();
    this.subscriptions.set(accountId, subs);
    const sub: Subscription = new Subscription(accountId, owner, this.position, send, () => {
      subs.delete(sub);
      if (subs.size === 0 && this.subscriptions.get(accountId) === subs) this.subscriptions.delete(accountId);
      onClose();
    });
    subs.add(sub);
    return sub;
  }

  get streams(): number {
    let n = 0;
    for (const s of this.subscriptions.values()) n += s.size;
    return n;
  }

  /** Whether events after `position` may have been pruned (EVENTS_RETENTION_HOURS): the client must reload. */
  async prunedAfter(position: Position): Promise<boolean> {
    const row = await this.db('events_pruned').first(this.db.raw('id::text AS id'));
    return row ? position < BigInt(row.id) : false;
  }

  /** The account's events after `from` up to `to`, in order, presented: what a reconnecting stream missed. */
  async replay(accountId: string, from: Position, to: Position, onBatch: (events: PositionedEvent[]) => void): Promise<void> {
    let cursor = from;
    for (;;) {
      const rows: EventRow[] = (
        await this.db.raw(`SELECT ${EVENT_COLUMNS} FROM events WHERE account_id = ? AND id > ? AND id <= ? ORDER BY id LIMIT ${BATCH}`, [
          accountId,
          String(cursor),
          String(to),
        ])
      ).rows;
      if (rows.length === 0) return;
      onBatch(await this.positioned(accountId, rows));
      cursor = BigInt(rows[rows.length - 1].id);
      if (rows.length < BATCH) return;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.revalidateTimer);
    for (const subs of [...this.subscriptions.values()]) for (const s of [...subs]) s.close();
    await this.pumping;
    await this.listener?.end().catch(() => undefined);
  }

  /** Ends the streams whose session ended (signed out, disabled, expired) or whose key was revoked. */
  async revalidate(): Promise<void> {
    const all = [...this.subscriptions.values()].flatMap((s) => [...s]);
    if (all.length === 0) return;
    try {
      const allowed = await this.options.stillAllowed(all.map((s) => s.owner));
      for (const s of all) if (!('sessionId' in s.owner ? allowed.sessions.has(s.owner.sessionId) : allowed.apiKeys.has(s.owner.apiKeyId))) s.close();
    } catch (err) {
      this.log.warn('event stream: checking open streams\' sessions failed; trying again later', { error: String(err) });
    }
  }

  private async listen(): Promise<void> {
    const client = new Client({ connectionString: this.databaseUrl });
    client.on('notification', (n) => (n.channel === 'pingback_access_ended' ? void this.revalidate() : this.wake()));
    client.on('error', (err) => {
      if (this.closed) return;
      this.log.warn('event stream: the database connection listening for events broke; reconnecting', { error: String(err) });
      this.reconnect(client);
    });
    await client.connect();
    await client.query('LISTEN pingback_events');
    await client.query('LISTEN pingback_access_ended');
    this.listener = client;
  }

  private reconnect(broken: Client): void {
    if (this.listener !== broken) return;
    this.listener = undefined;
    void broken.end().catch(() => undefined);
    const attempt = (delayMs: number) =>
      setTimeout(() => {
        if (this.closed) return;
        // Whatever was written (or revoked) while it was down is read at once after.
        this.listen().then(
          () => (this.wake(), void this.revalidate()),
          () => attempt(Math.min(delayMs * 2, 10_000)),
        );
      }, delayMs).unref();
    attempt(200);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (!this.closed) this.timer = setTimeout(() => this.wake(), ms).unref();
  }

  /** Reads what is new; one read at a time, and one more if woken during it. */
  private wake(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump()
      .catch((err) => {
        this.log.warn('event stream: reading new events failed; trying again', { error: String(err) });
        this.schedule(1_000);
      })
      .finally(() => {
        this.pumping = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async pump(): Promise<void> {
    let heldBack = false;
    for (;;) {
      const rows: EventRow[] = (
        await this.db.raw(`SELECT ${EVENT_COLUMNS} FROM events WHERE id > ? ORDER BY id LIMIT ${BATCH}`, [String(this.position)])
      ).rows;
      // The run of rows up to the first gap that may still fill.
      const ready: EventRow[] = [];
      let expected = this.position + 1n;
      let readAgain = false;
      for (const r of rows) {
        const id = BigInt(r.id);
        if (id !== expected) {
          const gap = await this.gapState(expected, BigInt(rows[rows.length - 1].id));
          readAgain = gap === 'just-settled';
          if (gap !== 'settled') break;
        }
        ready.push(r);
        expected = id + 1n;
      }
      heldBack = !readAgain && ready.length < rows.length;
      if (ready.length > 0) await this.dispatch(ready);
      if (this.closed) break;
      if (readAgain) continue;
      if (heldBack || rows.length < BATCH) break;
    }
    this.schedule(heldBack ? HELD_BACK_RECHECK_MS : SAFETY_POLL_MS);
  }

  /**
   * Whether the missing ids from `at` (below the read's last row, `readUpTo`) may still appear:
   * 'open' while a transaction that was writing events just after the read is running. Every
   * id below the read's last row was handed out before the read (ids grow with time: the
   * sequence hands out one at a time, CACHE 1), so its transaction had ended by then or was
   * among those writers. When the last of them has ended the gaps are 'just-settled', and the
   * rows must be read again before passing them: a writer that committed after the read filled
   * its gap unseen. The next read, which started after they ended, passes every gap below
   * `upTo` ('settled'), with no more questions to pg_locks: one re-read per batch, not per gap.
   */
  private async gapState(at: Position, readUpTo: Position): Promise<'open' | 'just-settled' | 'settled'> {
    const covered = this.gap && at >= this.gap.at && at <= this.gap.upTo;
    if (!covered) this.gap = { at, upTo: readUpTo, writers: await this.eventWriters(), settled: false };
    const gap = this.gap!;
    if (gap.settled) return 'settled';
    if (gap.writers.length > 0 && (await this.stillRunning(gap.writers))) return 'open';
    gap.settled = true;
    return 'just-settled';
  }

  /** The transactions (other than this connection's) holding the lock an INSERT into events takes. */
  private async eventWriters(): Promise<string[]> {
    const { rows } = await this.db.raw(
      `SELECT DISTINCT virtualtransaction FROM pg_locks
       WHERE locktype = 'relation' AND relation = 'events'::regclass AND mode = 'RowExclusiveLock'
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND pid IS DISTINCT FROM pg_backend_pid()`,
    );
    return rows.map((r: { virtualtransaction: string }) => r.virtualtransaction);
  }

  private async stillRunning(transactions: string[]): Promise<boolean> {
    const { rows } = await this.db.raw('SELECT 1 FROM pg_locks WHERE virtualtransaction = ANY(?::text[]) LIMIT 1', [`{${transactions.join(',')}}`]);
    return rows.length > 0;
  }

  private async dispatch(rows: EventRow[]): Promise<void> {
    const byAccount = new Map<string, EventRow[]>();
    for (const r of rows) {
      const list = byAccount.get(r.account_id) ?? [];
      list.push(r);
      byAccount.set(r.account_id, list);
    }
    const presented = new Map<string, PositionedEvent[]>();
    // Until every account with a stream is presented: a stream may subscribe while this awaits,
    // and it replays only up to the position it saw, so these events must reach it live.
    for (;;) {
      const pending = [...byAccount.keys()].filter((a) => this.subscriptions.has(a) && !presented.has(a));
      if (pending.length === 0) break;
      await Promise.all(pending.map(async (a) => presented.set(a, await this.positioned(a, byAccount.get(a)!))));
    }
    // Synchronously: hand over, then move the position, with no subscription in between.
    for (const [account, events] of presented) for (const sub of this.subscriptions.get(account) ?? []) sub.deliver(events);
    this.position = BigInt(rows[rows.length - 1].id);
  }

  private async positioned(accountId: string, rows: EventRow[]): Promise<PositionedEvent[]> {
    const events = await presentEvents(this.db, accountId, rows);
    return events.map((event) => ({ position: BigInt(event.id), event }));
  }
}

/**
 * For the api's sweeper: events older than the retention, which a reconnecting stream no longer
 * gets; the newest position pruned is kept, so such a stream is told to reload.
 */
export const eventsSweep = (retentionHours: number) => ({
  what: 'events past their retention',
  sweep: async (db: Db, limit: number) => {
    const { rows } = await db.raw(
      `WITH gone AS (
         DELETE FROM events WHERE id IN (SELECT id FROM events WHERE created_at < now() - make_interval(secs => ?) ORDER BY id LIMIT ?)
         RETURNING id
       ),
       newest AS (SELECT max(id) AS id, count(*) AS n FROM gone),
       marked AS (
         INSERT INTO events_pruned (id) SELECT id FROM newest WHERE id IS NOT NULL
         ON CONFLICT (only_row) DO UPDATE SET id = greatest(events_pruned.id, EXCLUDED.id)
       )
       SELECT n FROM newest`,
      [retentionHours * 3600, limit],
    );
    return Number(rows[0]?.n ?? 0);
  },
});
