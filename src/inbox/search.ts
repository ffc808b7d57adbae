import type { Knex } from 'knex';
import type { Db } from '../db/knex';

/**
 * The inbox's search box: a contact whose name, username or platform id contains the text
 * (trigram index `contacts_search`), or a message with every word of it, the last word as
 * a prefix (full-text index `messages_search`, the `simple` configuration: no language's
 * stemming, since customers write in any).
 */
export function contactSearch(db: Db, text: string): Knex.QueryBuilder {
  const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return db('contacts')
    .select('id')
    .whereRaw("(coalesce(name, '') || ' ' || coalesce(username, '') || ' ' || platform_user_id) ILIKE ?", [pattern]);
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
