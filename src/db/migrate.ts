import { Client } from 'pg';
import { createDb } from './knex';

/**
 * The database a URL names, and a client of the server's `postgres` database to create or
 * drop it with. The name goes into SQL as an identifier, so only plain names are taken.
 */
async function adminFor(databaseUrl: string, doing: string): Promise<{ name: string; admin: Client }> {
  const u = new URL(databaseUrl);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`refusing to ${doing} database with unusual name "${name}"`);
  u.pathname = '/postgres';
  const admin = new Client({ connectionString: u.toString() });
  await admin.connect();
  return { name, admin };
}

/** Creates the database named in the URL when it does not exist (dev and test convenience). */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const { name, admin } = await adminFor(databaseUrl, 'create');
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    try {
      await admin.query(`CREATE DATABASE "${name}"`);
    } catch (err) {
      // Two processes racing to create it is fine.
      if ((err as { code?: string }).code !== '42P04') throw err;
    }
    return true;
  } finally {
    await admin.end();
  }
}

/** Drops the database named in the URL, if it exists (a test run's own, at its end). */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const { name, admin } = await adminFor(databaseUrl, 'drop');
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Drops the database named in the URL, if it exists, and creates it empty (benchmarks start from nothing). */
export async function recreateDatabase(databaseUrl: string): Promise<void> {
  await dropDatabase(databaseUrl);
  await ensureDatabase(databaseUrl);
}

export async function migrateLatest(databaseUrl: string): Promise<string[]> {
  const db = createDb(databaseUrl, { max: 1 });
  try {
    const [, applied] = (await db.migrate.latest()) as [number, string[]];
    return applied;
  } finally {
    await db.destroy();
  }
}
