import { Client } from 'pg';
import { createDb } from '../../src/db/knex';
import { ensureDatabase } from '../../src/db/migrate';

/** Every migration goes down as cleanly as it comes up, on a database of its own. */
test('migrations are reversible', async () => {
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = '/pingback_migrations_test';
  const admin = new Client({ connectionString: new URL('/postgres', url).toString() });
  await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS pingback_migrations_test');
  await admin.end();
  await ensureDatabase(url.toString());
  const db = createDb(url.toString(), { max: 1 });
  try {
    const [, up] = await db.migrate.latest();
    expect(up.length).toBeGreaterThan(0);
    const tables = async () =>
      (await db.raw("select tablename from pg_tables where schemaname = 'public' and tablename not like 'knex_%' order by 1")).rows.map(
        (r: { tablename: string }) => r.tablename,
      );
    expect(await tables()).toEqual(expect.arrayContaining(['accounts', 'api_keys', 'channels', 'contacts', 'conversations', 'messages']));
    await db.migrate.rollback(undefined, true);
    expect(await tables()).toEqual([]);
    const [, again] = await db.migrate.latest();
    expect(again).toEqual(up);
  } finally {
    await db.destroy();
  }
});
