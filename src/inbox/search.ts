import type { Knex } from 'knex';
import type { Db } from '../db/knex';

/**
 * The inbox's search box: a contact whose name, username or platform id contains the text
 * (trigram index `contacts_search`), or a message with every word of it, the last word as
 * a prefix (full-text index `messages_search`, the `simple` configuration: no language's
 * stemming, since customers write in any).
 */
export function contactSearch(db: Db, accountId: string, text: string): Knex.QueryBuilder {
  const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return db('contacts as k')
    .join('channels as kc', 'kc.id', 'k.channel_id')
    .where('kc.account_id', accountId)
    .select('k.id')
    .whereRaw("(coalesce(k.name, '') || ' ' || coalesce(k.username, '') || ' ' || k.platform_user_id) ILIKE ?", [pattern]);
}

/** The account's conversations with a message matching a tsquery from messageSearch. */
export function messageMatches(db: Db, accountId: string, tsquery: string): Knex.QueryBuilder {
  return db('messages as sm')
    .join('conversations as sc', 'sc.id', 'sm.conversation_id')
    .where('sc.account_id', accountId)
    .whereRaw("to_tsvector('simple', sm.content) @@ to_tsquery('simple', ?)", [tsquery])
    .select('sm.conversation_id');
}

/** A tsquery of the text's words, or undefined when it has none (only punctuation). */
export function messageSearch(text: string): string | undefined {
  const words = text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .slice(0, 10);
  if (words.length === 0) return undefined;
  return words.map((w, i) => (i === words.length - 1 ? `'${w}':*` : `'${w}'`)).join(' & ');
}
