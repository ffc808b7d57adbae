import { resealChannel } from '../channels/credentials';
import type { SecretBox } from '../crypto/secret-box';
import type { ChannelRow } from './channels';
import type { Db } from './knex';

export interface ResealReport {
  channels: number;
  /** Channels with at least one value re-sealed (an older key, the older format, or not yet sealed). */
  resealed: number;
  values: number;
  /** Channels left as they were because a value would not open: the key that sealed it is not configured, or it was tampered with. */
  failed: Array<{ channel_id: string; error: string }>;
}

const BATCH = 100;

/**
 * Re-seals every channel's credentials and own secrets with the current key, bound to
 * the channel and field (see SecretBox): what `pingback keys rotate` and `pingback migrate`
 * run. Each channel is rewritten in its own transaction with its row locked, so a PATCH at
 * the same time waits rather than being overwritten; running it again changes nothing.
 */
export async function resealAll(db: Db, box: SecretBox): Promise<ResealReport> {
  const report: ResealReport = { channels: 0, resealed: 0, values: 0, failed: [] };
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const ids: string[] = (await db('channels').where('id', '>', after).orderBy('id').limit(BATCH).select('id')).map((r) => r.id);
    if (ids.length === 0) return report;
    for (const id of ids) {
      report.channels++;
      try {
        const values = await db.transaction(async (trx) => {
          const row: ChannelRow | undefined = await trx('channels').where({ id }).forUpdate().first('id', 'type', 'config', 'webhook_secret', 'verify_token');
          const next = row && resealChannel(box, row);
          if (!next) return 0;
          await trx('channels')
            .where({ id })
            .update({ config: JSON.stringify(next.config), webhook_secret: next.webhook_secret, verify_token: next.verify_token });
          return next.values;
        });
        // Counted once committed: a commit that fails is only a failure.
        if (values > 0) (report.resealed++, (report.values += values));
      } catch (err) {
        report.failed.push({ channel_id: id, error: (err as Error).message });
      }
    }
    after = ids[ids.length - 1];
  }
}
