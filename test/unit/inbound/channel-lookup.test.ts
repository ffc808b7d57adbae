import { ChannelLookup } from '../../../src/inbound/channel-lookup';

/** A stand-in for knex's `db('channels').where(...).first(...)`, counting reads and failing on demand. */
function fakeDb(row: object | undefined) {
  const state = { reads: 0, down: false };
  const db = (() => ({
    where: () => ({
      first: async () => {
        state.reads++;
        if (state.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        return row;
      },
    }),
  })) as any;
  return { db, state };
}

const ROW = { id: '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f', account_id: 'a', type: 'telegram', is_active: true, webhook_secret: 's', verify_token: 'v', config: {} };

test('a burst costs one query per TTL, and a row of another type is not found', async () => {
  let now = 0;
  const { db, state } = fakeDb(ROW);
  const lookup = new ChannelLookup(db, 5_000, 300_000, () => now);
  for (let i = 0; i < 50; i++) expect(await lookup.get(ROW.id, 'telegram')).toEqual(ROW);
  expect(state.reads).toBe(1);
  expect(await lookup.get(ROW.id, 'whatsapp')).toBeUndefined();
  now = 5_001;
  await lookup.get(ROW.id, 'telegram');
  expect(state.reads).toBe(2);
});

test('while PostgreSQL is down a known row is served for up to maxStale, then the outage shows', async () => {
  let now = 0;
  const { db, state } = fakeDb(ROW);
  const lookup = new ChannelLookup(db, 5_000, 300_000, () => now);
  await lookup.get(ROW.id, 'telegram');
  state.down = true;
  now = 60_000;
  expect(await lookup.get(ROW.id, 'telegram')).toEqual(ROW);
  now = 300_001;
  await expect(lookup.get(ROW.id, 'telegram')).rejects.toThrow(/ECONNREFUSED/);
  // An unknown channel during an outage is an outage, not a 404.
  await expect(lookup.get('00000000-0000-4000-8000-000000000000', 'telegram')).rejects.toThrow(/ECONNREFUSED/);
});

test('invalidate makes a change visible at once; require answers 404 for malformed or unknown ids', async () => {
  const { db, state } = fakeDb(undefined);
  const lookup = new ChannelLookup(db);
  await expect(lookup.require('not-a-uuid', 'telegram')).rejects.toMatchObject({ status: 404, code: 'not_found' });
  expect(state.reads).toBe(0);
  await expect(lookup.require(ROW.id, 'telegram')).rejects.toMatchObject({ status: 404 });
  lookup.invalidate(ROW.id);
  await expect(lookup.require(ROW.id, 'telegram')).rejects.toMatchObject({ status: 404 });
  expect(state.reads).toBe(2);
});
