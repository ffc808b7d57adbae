// For the knex CLI (`npx knex migrate:status`, `migrate:rollback`). PingBack itself
// migrates with `pingback migrate`, which uses the same source.
import { migrationSource } from './src/db/migration-source';

const config = {
  client: 'pg',
  connection: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/pingback',
  migrations: { migrationSource, tableName: 'knex_migrations' },
};

export default config;
module.exports = config;
