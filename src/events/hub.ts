import { Client } from 'pg';
import type { Db } from '../db/knex';
import type { Logger } from '../log';
import type { InboxEvent } from '../inbox/schemas';
import { EVENT_COLUMNS, EventRow, presentEvents } from './present';

/**
 * Where a reader is in the events table. The stream's order is (xid, id): see the events
 * migration for why ids alone would lose events written by transactions that commit late.
 */
export interface Position {
  xid: bigint;
  id: bigint;
}
const ZERO: Position = { xid: 0n, id: 0n };
const after = (a: Position, b: Position) => a.xid > b.xid || (a.xid === b.xid && a.id > b.id);
const positionOf = (r: { xid: string; id: string }): Position => ({ xid: BigInt(r.xid), id: BigInt(r.id) });

export interface PositionedEvent {
  position: Position;
  event: InboxEvent;
}

/** One open stream: it gets its account's events from the hub, in order, each once. */
export class Subscription {
  private buffered: PositionedEvent[] | undefined = [];
  private sent: Position;
  private closed = false;

  constructor(
    readonly accountId: string,
    /** Everything up to here was dispatched before this subscription existed. */
    readonly from: Position,
    private readonly send: (event: InboxEvent) => void,
    private readonly onClose: () => void,
  ) {
    this.sent = from;
  }

  /** Ends it, once: by its client going away, or by the hub shutting down. */
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

  /** Replayed events: all older than `from`, which the live ones held back all follow. */
  replayed(events: PositionedEvent[]): void {
    for (const e of events) this.send(e.event);
  }

  goLive(): void {
    const held = this.buffered ?? [];
    this.buffered = undefined;
    this.write(held);
  }

  private write(events: PositionedEvent[]): void {
    for (const e of events) {
      if (!after(e.position, this.sent)) continue;
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

/**
 * Each api process's one reader of the events table. Writers' triggers NOTIFY on commit;
 * the hub reads the new rows once, reads the snapshots of what they name once per account,
 * and hands them to every stream of that account, so 200 open streams cost one read, not
 * 200. A stream that reconnects replays from the table by itself (replay), then joins.
 */
export class EventHub {
  private position: Position = ZERO;
  private readonly subscriptions = new Map<string, Set<Subscription>>();
  private listener: Client | undefined;
  private pumping: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly databaseUrl: string,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const [row] = (
      await this.db.raw(
        `SELECT xid::text, id::text FROM events WHERE xid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY xid DESC, id DESC LIMIT 1`,
      )
    ).rows;
    this.position = row ? positionOf(row) : ZERO;
    await this.listen();
    this.schedule(SAFETY_POLL_MS);
  }

  /** A new stream of the account's events from now on; `from` is where a replay must stop. `onClose` runs once, when it ends. */
  subscribe(accountId: string, send: (event: InboxEvent) => void, onClose: () => void = () => undefined): Subscription {
    const subs = this.subscriptions.get(accountId) ?? new Set();
    this.subscriptions.set(accountId, subs);
    const sub: Subscription = new Subscription(accountId, this.position, send, () => {
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

  /** Where an event the account received is in the stream; undefined once it was pruned (or never was the account's). */
  async positionOfEvent(accountId: string, eventId: string): Promise<Position | undefined> {
    const row = await this.db('events').where({ id: eventId, account_id: accountId }).first(this.db.raw('xid::text'), this.db.raw('id::text'));
    return row ? positionOf(row) : undefined;
  }

  /** The account's events after `from` up to `to`, in order, presented: what a reconnecting stream missed. */
  async replay(accountId: string, from: Position, to: Position, onBatch: (events: PositionedEvent[]) => void): Promise<void> {
    let cursor = from;
    for (;;) {
      const rows: EventRow[] = (
        await this.db.raw(
          `SELECT ${EVENT_COLUMNS} FROM events
           WHERE account_id = ? AND (xid, id) > (?::xid8, ?::bigint) AND (xid, id) <= (?::xid8, ?::bigint)
           ORDER BY xid, id LIMIT ${BATCH}`,
          [accountId, String(cursor.xid), String(cursor.id), String(to.xid), String(to.id)],
        )
      ).rows;
      if (rows.length === 0) return;
      onBatch(await this.positioned(accountId, rows));
      cursor = positionOf(rows[rows.length - 1]);
      if (rows.length < BATCH) return;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    for (const subs of [...this.subscriptions.values()]) for (const s of [...subs]) s.close();
    await this.pumping;
    await this.listener?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    const client = new Client({ connectionString: this.databaseUrl });
    client.on('notification', () => this.wake());
    client.on('error', (err) => {
      if (this.closed) return;
      this.log.warn('event stream: the database connection listening for events broke; reconnecting', { error: String(err) });
      this.reconnect(client);
    });
    await client.connect();
    await client.query('LISTEN pingback_events');
    this.listener = client;
  }

  private reconnect(broken: Client): void {
    if (this.listener !== broken) return;
    this.listener = undefined;
    void broken.end().catch(() => undefined);
    const attempt = (delayMs: number) =>
      setTimeout(() => {
        if (this.closed) return;
        // Whatever was written while it was down is read at once after.
        this.listen().then(
          () => this.wake(),
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
      const rows: Array<EventRow & { settled: boolean }> = (
        await this.db.raw(
          `SELECT ${EVENT_COLUMNS}, xid < pg_snapshot_xmin(pg_current_snapshot()) AS settled
           FROM events WHERE (xid, id) > (?::xid8, ?::bigint) ORDER BY xid, id LIMIT ${BATCH}`,
          [String(this.position.xid), String(this.position.id)],
        )
      ).rows;
      // A transaction still running may yet commit events that come before these: wait for it.
      const settled = rows.filter((r) => r.settled);
      heldBack = settled.length < rows.length;
      if (settled.length > 0) await this.dispatch(settled);
      if (heldBack || rows.length < BATCH || this.closed) break;
    }
    this.schedule(heldBack ? HELD_BACK_RECHECK_MS : SAFETY_POLL_MS);
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
    this.position = positionOf(rows[rows.length - 1]);
  }

  private async positioned(accountId: string, rows: EventRow[]): Promise<PositionedEvent[]> {
    const events = await presentEvents(this.db, accountId, rows);
    const positions = new Map(rows.map((r) => [r.id, positionOf(r)]));
    return events.map((event) => ({ position: positions.get(event.id)!, event }));
  }
}

/** For the api's sweeper: events older than the retention, which a reconnecting stream no longer gets. */
export const eventsSweep = (retentionHours: number) => ({
  what: 'events past their retention',
  sweep: async (db: Db, limit: number) =>
    db('events')
      .whereIn('id', db('events').select('id').whereRaw('created_at < now() - make_interval(secs => ?)', [retentionHours * 3600]).limit(limit))
      .delete(),
});
