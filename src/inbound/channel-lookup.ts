import type { ChannelType } from '../channels/types';
import type { ChannelRow } from '../db/channels';
import type { Db } from '../db/knex';
import { isUuid } from '../db/ids';
import { notFound } from '../errors';

export type IngressChannel = Pick<ChannelRow, 'id' | 'account_id' | 'type' | 'is_active' | 'webhook_secret' | 'verify_token' | 'config'>;

/**
 * The channel a webhook names, read on every platform request. Kept for a few
 * seconds so a burst does not cost a query per message, and served stale while
 * PostgreSQL is unreachable (up to `maxStaleMs`): the platform's message is then
 * still acknowledged once Temporal holds it, and persisted when the database is
 * back. persistInbound re-checks the channel before writing anyway.
 */
export class ChannelLookup {
  private readonly cache = new Map<string, { row: IngressChannel | undefined; at: number }>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 5_000,
    /** How long a row may still be served while PostgreSQL cannot be reached. */
    private readonly maxStaleMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(id: string, type: ChannelType): Promise<IngressChannel | undefined> {
    const hit = this.cache.get(id);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.row?.type === type ? hit.row : undefined;
    let row: IngressChannel | undefined;
    try {
      row = await this.db('channels')
        .where({ id })
        .first('id', 'account_id', 'type', 'is_active', 'webhook_secret', 'verify_token', 'config');
    } catch (err) {
      if (hit?.row && this.now() - hit.at < this.maxStaleMs) return hit.row.type === type ? hit.row : undefined;
      throw err;
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, { row, at: this.now() });
    return row?.type === type ? row : undefined;
  }

  /** The channel of this type the URL names, or 404 (a malformed id is simply not found). */
  async require(id: string, type: ChannelType): Promise<IngressChannel> {
    const row = isUuid(id) ? await this.get(id, type) : undefined;
    if (!row) throw notFound('channel');
    return row;
  }

  /** Called by the API when it changes a channel, so this process sees the change at once. */
  invalidate(id: string): void {
    this.cache.delete(id);
  }
}
