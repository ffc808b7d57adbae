import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';

/**
 * Migrations are recorded by name without extension, so the same database can
 * be migrated from TypeScript sources (dev, tests) and from compiled JavaScript
 * (production) without knex calling the directory corrupt.
 */
const dir = path.resolve(__dirname, '../../migrations');
const ext = path.extname(__filename); // .ts under tsx/jest, .js once compiled

export const migrationSource: Knex.MigrationSource<string> = {
  async getMigrations() {
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(ext) && !f.endsWith('.d.ts'))
      .map((f) => f.slice(0, -ext.length))
      .sort();
  },
  getMigrationName(name) {
    return name;
  },
  async getMigration(name) {
    return require(path.join(dir, name + ext));
  },
};
