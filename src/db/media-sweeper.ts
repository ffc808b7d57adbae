import type { Logger } from '../log';
import type { Db } from './knex';
import { sweepUnlinkedMedia } from './stored-media';

const BATCH = 500;
/** Batches per run: a backlog is worked off over several runs rather than in one long burst of deletes. */
const MAX_BATCHES = 20;

/**
 * Deletes, now and then, the stored files no stored message took (src/db/stored-media.ts).
 * Every api process runs one; two deleting at once only find less to delete.
 */
export function startMediaSweeper(db: Db, log: Logger, opts: { firstAfterMs?: number; everyMs?: number } = {}): { stop(): Promise<void> } {
  const everyMs = opts.everyMs ?? 60 * 60_000;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const run = async () => {
    let deleted = 0;
    try {
      for (let i = 0; i < MAX_BATCHES && !stopped; i++) {
        const n = await sweepUnlinkedMedia(db, BATCH);
        deleted += n;
        if (n < BATCH) break;
      }
      if (deleted > 0) log.info('stored files no message took deleted', { deleted });
    } catch (err) {
      log.warn('sweeping stored files failed; trying again later', { error: String(err) });
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
