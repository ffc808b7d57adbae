import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/api/app';
import { configSchema, secretBoxFrom } from '../../src/config';
import { createDb } from '../../src/db/knex';
import { silentLogger } from '../../src/log';

// A channel id of its own each run: the limits are counted in PostgreSQL, and outlive a run by a minute.
const CHANNEL = { id: randomUUID(), account_id: 'a', type: 'webchat', is_active: true, webhook_secret: 's', verify_token: 'v', config: {} };

/** The per-address visitor limit (counted in PostgreSQL) reads X-Forwarded-For only as far as TRUSTED_PROXY_HOPS proxies wrote it. */
async function visitorsFrom(hops: string, forwardedFor: string[]): Promise<number[]> {
  const config = configSchema.parse({
    DATABASE_URL: process.env.TEST_DATABASE_URL,
    PINGBACK_ENCRYPTION_KEY: 'ab'.repeat(32),
    TRUSTED_PROXY_HOPS: hops,
    WEBCHAT_VISITORS_PER_MINUTE: '2',
  });
  const db = createDb(config.DATABASE_URL);
  const channelLookup = { require: async () => CHANNEL } as any;
  const app = createApp({ db, secrets: secretBoxFrom(config), temporal: {} as any, signaller: {} as any, config, log: silentLogger, channelLookup });
  const server = http.createServer(app.callback()).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const { port } = server.address() as AddressInfo;
    const codes: number[] = [];
    for (const xff of forwardedFor) {
      const res = await fetch(`http://127.0.0.1:${port}/widget/${CHANNEL.id}/visitors`, { method: 'POST', headers: { 'x-forwarded-for': xff } });
      codes.push(res.status);
    }
    return codes;
  } finally {
    server.close();
    app.shutdown();
    await db.destroy();
  }
}

test('behind one proxy, the address it appended counts, not what the client wrote before it', async () => {
  expect(await visitorsFrom('1', ['1.1.1.1, 10.0.0.1', '2.2.2.2, 10.0.0.1', '3.3.3.3, 10.0.0.1', '10.0.0.2'])).toEqual([201, 201, 429, 201]);
});

test('with no trusted proxy the header is ignored: every request is the connection address', async () => {
  expect(await visitorsFrom('0', ['10.0.0.1', '10.0.0.2', '10.0.0.3'])).toEqual([201, 201, 429]);
});
