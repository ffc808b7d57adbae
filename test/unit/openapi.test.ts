import { createApp } from '../../src/api/app';
import { configSchema, secretBoxFrom } from '../../src/config';
import { createDb } from '../../src/db/knex';
import { silentLogger } from '../../src/log';
import { openApiDocument } from '../../src/api/openapi';

/** Every route the app serves is described in the OpenAPI document, and nothing else is. */
test('the OpenAPI paths are exactly the routes the app serves', async () => {
  const config = configSchema.parse({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', PINGBACK_ENCRYPTION_KEY: 'ab'.repeat(32) });
  const db = createDb(config.DATABASE_URL);
  const app = createApp({ db, secrets: secretBoxFrom(config), temporal: {} as any, signaller: {} as any, config, log: silentLogger });
  const served = new Set<string>();
  for (const mw of app.middleware as any[]) {
    for (const layer of mw.router?.stack ?? []) {
      for (const method of layer.methods) {
        if (method === 'HEAD') continue;
        served.add(`${method} ${layer.path.replace(/:(\w+)/g, '{$1}')}`);
      }
    }
  }
  const doc = openApiDocument();
  const described = new Set(
    Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${p}`)),
  );
  // Documentation pages describe the API; they are not part of it.
  for (const page of ['GET /openapi.json', 'GET /docs', 'GET /docs/assets/{version}/{name}']) served.delete(page);
  expect([...served].filter((r) => !described.has(r)).sort()).toEqual([]);
  expect([...described].filter((r) => !served.has(r)).sort()).toEqual([]);
  await db.destroy();
});
