import type { Logger } from '../log';
import type { Db } from './knex';

const BATCH = 500;
/** Batches per run: a backlog is worked off over several runs rather than in one long burst of deletes. */
const MAX_BATCHES = 20;

/** Something kept only for a while: deletes up to `limit` rows past their time, says how many. */
export interface Sweep {
  what: string;
  sweep(db: Db, limit: number): Promise<number>;
}

/**
 * Deletes, now and then, what PingBack keeps only for a while (files no message took,
 * old events, ended sessions). Every api process runs one; two deleting at once only
 * find less to delete.
 */
export function startSweeper(db: Db, log: Logger, sweeps: Sweep[], opts: { firstAfterMs?: number; everyMs?: number } = {}): { stop(): Promise<void> } {
  const everyMs = opts.everyMs ?? 60 * 60_000;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const run = async () => {
    for (const s of sweeps) {
      let deleted = 0;
      try {
        for (let i = 0; i < MAX_BATCHES && !stopped; i++) {
          const n = await s.sweep(db, BATCH);
          deleted += n;
          if (n < BATCH) break;
        }
        if (deleted > 0) log.info(`${s.what} deleted`, { deleted });
      } catch (err) {
        log.warn(`deleting ${s.what} failed; trying again later`, { error: String(err) });
      }
    }
    if (!stopped) timer = setTimeout(() => (running = run()), everyMs).unref();
  };
  // Soon after start as well: an api restarted more often than hourly still sweeps.
  timer = setTimeout(() => (running = run()), opts.firstAfterMs ?? 60_000).unref();
  return {
    /** Stops the timer and waits for a sweep under way (it ends after its current batch). */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
