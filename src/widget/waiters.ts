import type { Db } from '../db/knex';
import type { Logger } from '../log';

interface Waiter {
  channelId: string;
  visitorId: string;
  after: number;
  deadline: number;
  resolve(changed: boolean): void;
}

/** Open polls one visitor may have (tabs of the same site); a newer one beyond that ends the oldest. */
const PER_VISITOR = 4;

/**
 * The web chat widgets' long polls, checked together: one query per interval for all
 * of them, however many are open, instead of one per poll.
 */
export class WidgetWaiters {
  private readonly waiting = new Map<string, Waiter[]>();
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(
    private readonly db: Db,
    private readonly log?: Logger,
    private readonly intervalMs = 1_000,
    /** Beyond this many open polls in the process, a poll answers at once (the widget simply polls again). */
    private readonly max = 10_000,
  ) {}

  /**
   * Resolves true once the visitor's conversation has a row past `after` (or the check
   * itself failed, so the caller's own read reports it), false when `ms` pass, a newer
   * poll of the same visitor takes over, `signal` aborts (the client went away) or the
   * process shuts down.
   */
  wait(channelId: string, visitorId: string, after: number, ms: number, signal: AbortSignal): Promise<boolean> {
    const key = `${channelId}:${visitorId}`;
    if (ms <= 0 || signal.aborted || this.count >= this.max) return Promise.resolve(false);
    const mine = this.waiting.get(key) ?? [];
    if (mine.length >= PER_VISITOR) mine[0].resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => waiter.resolve(false);
      let done = false;
      const waiter: Waiter = {
        channelId,
        visitorId,
        after,
        deadline: Date.now() + ms,
        resolve: (changed) => {
          if (done) return;
          done = true;
          const list = this.waiting.get(key) ?? [];
          list.splice(list.indexOf(waiter), 1);
          if (list.length === 0) this.waiting.delete(key);
          this.count--;
          signal.removeEventListener('abort', onAbort);
          resolve(changed);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.set(key, [...(this.waiting.get(key) ?? []), waiter]);
      this.count++;
      this.timer ??= setInterval(() => void this.tick(), this.intervalMs).unref();
    });
  }

  /** Ends every open poll (the api is stopping). */
  close(): void {
    for (const w of this.all()) w.resolve(false);
    this.stopTimer();
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const now = Date.now();
      for (const w of this.all()) if (w.deadline <= now) w.resolve(false);
      const waiters = this.all();
      if (waiters.length === 0) return this.stopTimer();
      let latest: Map<string, number>;
      try {
        const { rows } = await this.db.raw<{ rows: Array<{ channel_id: string; thread_key: string; last: string }> }>(
          `SELECT c.channel_id, c.thread_key, max(m.seq) AS last
             FROM conversations c JOIN messages m ON m.conversation_id = c.id
            WHERE (c.channel_id, c.thread_key) IN (SELECT * FROM unnest(?::uuid[], ?::text[]))
            GROUP BY 1, 2`,
          [waiters.map((w) => w.channelId), waiters.map((w) => w.visitorId)],
        );
        latest = new Map(rows.map((r) => [`${r.channel_id}:${r.thread_key}`, Number(r.last)]));
      } catch (err) {
        // Let each poll read for itself and answer with the outage (503) rather than hang until its deadline.
        this.log?.warn('web chat long polls: the check for new messages failed', { error: String(err) });
        for (const w of waiters) w.resolve(true);
        return;
      }
      for (const w of waiters) if ((latest.get(`${w.channelId}:${w.visitorId}`) ?? 0) > w.after) w.resolve(true);
    } finally {
      this.ticking = false;
    }
  }

  private all(): Waiter[] {
    return [...this.waiting.values()].flat();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
