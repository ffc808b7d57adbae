import type { Db } from './knex';

/**
 * A statement PostgreSQL parses once per connection rather than on every call, and plans afresh
 * only for its first five runs there: from then on it keeps one generic plan when that costs no more.
 */
export interface PreparedStatement {
  /** Unique per statement text: a connection holds one statement under each name. */
  name: string;
  text: string;
  values: unknown[];
}

/**
 * Runs a named prepared statement on a connection borrowed from knex's pool (knex
 * cannot name one). For a statement on the hot path, planning cost more CPU in
 * PostgreSQL than running it (see docs/benchmark.md).
 */
export async function queryPrepared<Row>(db: Db, statement: PreparedStatement): Promise<Row[]> {
  const connection = await db.client.acquireConnection();
  try {
    const result = await connection.query(statement);
    return result.rows as Row[];
  } finally {
    await db.client.releaseConnection(connection);
  }
}
