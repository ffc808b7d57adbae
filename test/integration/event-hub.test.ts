import { Client } from 'pg';
import { createDb, type Db } from '../../src/db/knex';
import { EventHub } from '../../src/events/hub';
import type { InboxEvent } from '../../src/inbox/schemas';
import { silentLogger } from '../../src/log';
import { eventually } from '../helpers/stack';

/**
 * The hub itself, against the suite's PostgreSQL: the orders in which transactions commit that
 * an api process sees under load, made to happen on purpose.
 */
const url = process.env.TEST_DATABASE_URL!;
let db: Db;
let hub: EventHub;
beforeAll(async () => {
  db = createDb(url, { max: 4 });
  // The stream's owner stays allowed: other suites' sign-outs make the hub check its streams again.
  hub = new EventHub(db, url, silentLogger, { stillAllowed: async () => ({ sessions: new Set(), apiKeys: new Set(['k']) }) });
  await hub.start();
});
afterAll(async () => {
  await hub.close();
  await db.destroy();
});

const newAccount = async () => (await db('accounts').insert({ name: 'hub test', plan: 'pro' }).returning('id'))[0].id as string;
const addChannel = (q: Db | Client, accountId: string, name: string) =>
  q instanceof Client
    ? q.query("INSERT INTO channels (account_id, type, name, webhook_secret, verify_token) VALUES ($1, 'webchat', $2, 's', 'v')", [accountId, name])
    : q('channels').insert({ account_id: accountId, type: 'webchat', name, webhook_secret: 's', verify_token: 'v' });

test('an event whose transaction commits while the hub is checking the gap it left is read, not passed over', async () => {
  const accountId = await newAccount();
  const got: InboxEvent[] = [];
  const sub = hub.subscribe(accountId, { apiKeyId: 'k' }, (e) => void got.push(e));
  sub.goLive();
  const late = new Client({ connectionString: url });
  await late.connect();
  // The moment that matters: the hub has read the rows (the later id, not the earlier one) and
  // is about to ask PostgreSQL who is still writing events; the earlier id's transaction commits
  // just then. Armed for a gap at or below that id only: other suites write events meanwhile.
  const hubInternals = hub as unknown as { gapState(at: bigint, upTo: bigint): Promise<string> };
  const gapState = hubInternals.gapState.bind(hub);
  let lateId: bigint | undefined;
  let committedInBetween = false;
  hubInternals.gapState = async (at, upTo) => {
    if (lateId !== undefined && !committedInBetween && at <= lateId) {
      committedInBetween = true;
      await late.query('COMMIT');
    }
    return gapState(at, upTo);
  };
  try {
    await late.query('BEGIN');
    await addChannel(late, accountId, 'took the earlier id');
    lateId = BigInt((await late.query("SELECT currval('events_id_seq')::text AS id")).rows[0].id);
    await addChannel(db, accountId, 'committed first');
    const names = () => got.filter((e) => e.type === 'channel.created').map((e) => (e.data as { name: string }).name);
    await eventually(async () => names().length === 2, 20_000, 'both channels on the stream');
    expect(committedInBetween).toBe(true);
    expect(names()).toEqual(['took the earlier id', 'committed first']);
  } finally {
    hubInternals.gapState = gapState;
    await late.query('ROLLBACK').catch(() => undefined);
    await late.end();
    sub.close();
  }
});
