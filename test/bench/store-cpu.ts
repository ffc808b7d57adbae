/**
 * `npm run bench:store`: PostgreSQL's CPU per `persistInbound` call, read from the serving
 * backend's /proc times (so this machine's PostgreSQL only), one message per batch, in a
 * database of its own that it drops afterwards.
 *
 *   npm run bench:store                      # 3,000 messages spread over 100 conversations
 *   CONVERSATIONS=1 N=1500 npm run bench:store # one conversation growing to 1,500 messages
 *   WITHOUT_TRIGGERS=1 npm run bench:store       # what the event stream's, counts' and activity triggers cost
 */
import { randomUUID } from 'node:crypto';
import { makePersistInbound } from '../../activities/messages';
import { createAccount } from '../../src/db/accounts';
import { insertChannel } from '../../src/db/channels';
import { createDb } from '../../src/db/knex';
import { migrateLatest, recreateDatabase } from '../../src/db/migrate';
import { cpuSeconds } from './stats';

const SERVER = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
const DATABASE = 'pingback_bench_store';
const CONVERSATIONS = Number(process.env.CONVERSATIONS ?? 100);
const N = Number(process.env.N ?? 3000);

async function main() {
  const url = `${SERVER}/${DATABASE}`;
  await recreateDatabase(url);
  await migrateLatest(url);
  // One connection, so every call is served by the one backend being measured.
  const db = createDb(url, { max: 1 });
  try {
    const { account } = await createAccount(db, { name: 'bench', plan: 'pro' });
    const channel = await insertChannel(db, { id: randomUUID(), webhookSecret: 's', verifyToken: 'v', accountId: account.id, type: 'telegram', name: 'bench', config: {}, status: 'connected', statusMessage: null });
    const backend = (await db.raw('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    if (process.env.WITHOUT_TRIGGERS) {
      for (const table of ['messages', 'conversations', 'contacts', 'conversation_entries', 'events']) await db.raw(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
    }
    const persist = makePersistInbound(db);
    let next = 0;
    const send = async (count: number) => {
      for (let i = 0; i < count; i++, next++) {
        const k = next % CONVERSATIONS;
        await persist({
          accountId: account.id,
          channelId: channel.id,
          channelType: 'telegram',
          threadKey: `chat-${k}`,
          workflowId: `conversation/telegram/${channel.id}/chat-${k}`,
          messages: [
            { platformMessageId: `m${next}`, threadKey: `chat-${k}`, contact: { platformUserId: `user-${k}`, name: 'Ada' }, content: 'hello', contentType: 'text', attachments: [], metadata: {} },
          ],
        });
      }
    };
    // Unmeasured: every conversation exists and the connection has its plan cached, as in a running worker.
    await send(CONVERSATIONS * 2);
    const cpu0 = cpuSeconds(backend);
    const t0 = performance.now();
    await send(N);
    const result = {
      conversations: CONVERSATIONS,
      messages: N,
      backend_cpu_ms_per_call: Math.round(((cpuSeconds(backend) - cpu0) / N) * 1e6) / 1000,
      wall_ms_per_call: Math.round(((performance.now() - t0) / N) * 1000) / 1000,
    };
    console.log(JSON.stringify(result));
  } finally {
    await db.destroy();
    const admin = createDb(`${SERVER}/postgres`, { max: 1 });
    await admin.raw(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
    await admin.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
