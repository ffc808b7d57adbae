import { accountActivitySchema, compareXIds, dmEventsPageSchema, otherEventKinds, parseAccountActivity, parseDmEventsPage } from '../../../../src/channels/x/inbound';
import { fixtureFiles } from '../../../helpers/fixtures';

const aaa = (name: string) => fixtureFiles('x', 'aaa-').find((f) => f.name === name)!.body;

describe('every Account Activity fixture parses', () => {
  test.each(fixtureFiles('x', 'aaa-').map((f) => [f.name, f.body]))('%s', (_name, body) => {
    const parsed = accountActivitySchema.safeParse(body);
    expect(parsed.success).toBe(true);
    expect(parseAccountActivity(parsed.data!).unreadable).toEqual([]);
  });
});

test('a customer DM becomes a message keyed by the X event id, with name and handle from `users`', () => {
  const { events: [event] } = parseAccountActivity(accountActivitySchema.parse(aaa('aaa-dm-received.json')));
  expect(event).toEqual({
    id: '1371204467341807622',
    createdAt: '2021-03-14T21:01:35.418Z',
    kind: 'message',
    message: {
      platformMessageId: '1371204467341807622',
      threadKey: '1133857316862910464',
      contact: { platformUserId: '1133857316862910464', name: 'Customer', username: 'customer_user' },
      content: 'Hi, my order has not arrived',
      contentType: 'text',
      attachments: [],
      metadata: {},
      platformTimestamp: '2021-03-14T21:01:35.418Z',
    },
  });
});

test("the account's own DM (sender == for_user_id) is an echo, not a customer message", () => {
  expect(parseAccountActivity(accountActivitySchema.parse(aaa('aaa-dm-echo-own-message.json'))).events).toEqual([
    { id: '1371204467341807621', createdAt: '2021-03-14T20:59:55.418Z', kind: 'echo' },
  ]);
});

test("Chatwoot's simplified factory (no timestamp, no entities) is still a message", () => {
  const { events: [event] } = parseAccountActivity(accountActivitySchema.parse(aaa('aaa-dm-chatwoot-factory.json')));
  expect(event).toMatchObject({ kind: 'message', message: { platformMessageId: '123', threadKey: '2', content: 'Blue Bird', contact: { name: 'person 1' } } });
});

test('a follow delivery carries no DM; its kind is named for the log', () => {
  const body = aaa('aaa-follow-event.json');
  expect(parseAccountActivity(accountActivitySchema.parse(body))).toEqual({ events: [], unreadable: [] });
  expect(otherEventKinds(body)).toEqual(['follow_events']);
});

test('a payload without for_user_id is not an Account Activity event', () => {
  expect(accountActivitySchema.safeParse({ direct_message_events: [] }).success).toBe(false);
});

test('media attachments are kept, with the same media id on both paths', () => {
  const body = structuredClone(aaa('aaa-dm-received.json'));
  body.direct_message_events[0].message_create.message_data.attachment = {
    type: 'media',
    media: { id: 1455952740635586573, id_str: '1455952740635586573', media_url_https: 'https://pbs.twimg.com/dm_gif/x.jpg', type: 'photo' },
  };
  const { events: [fromWebhook] } = parseAccountActivity(accountActivitySchema.parse(body));
  const page = dmEventsPageSchema.parse({
    data: [{ id: '1371204467341807622', event_type: 'MessageCreate', text: 'Hi, my order has not arrived', sender_id: '1133857316862910464',
      dm_conversation_id: '1133857316862910464-1363121963309412354', created_at: '2021-03-14T21:01:35.000Z', attachments: { media_keys: ['3_1455952740635586573'] } }],
    includes: { users: [{ id: '1133857316862910464', name: 'Customer', username: 'customer_user' }], media: [{ media_key: '3_1455952740635586573', type: 'photo', url: 'https://pbs.twimg.com/dm_gif/x.jpg' }] },
    meta: { result_count: 1 },
  });
  const { events: [fromPoll] } = parseDmEventsPage(page, '1363121963309412354');
  for (const e of [fromWebhook, fromPoll]) {
    expect(e).toMatchObject({ kind: 'message', message: { contentType: 'image', attachments: [{ type: 'image', platformFileId: '1455952740635586573', url: 'https://pbs.twimg.com/dm_gif/x.jpg' }] } });
  }
  // The same DM from both paths: the same key, thread, contact and text, so it is stored once.
  const pick = (e: typeof fromPoll) => (e.kind === 'message' ? { ...e.message, metadata: {}, platformTimestamp: undefined } : e);
  expect(pick(fromPoll)).toEqual(pick(fromWebhook));
});

test('polled events: echoes, group DMs and other event types are told apart from customer messages', () => {
  const page = dmEventsPageSchema.parse({
    data: [
      { id: '30', event_type: 'MessageCreate', text: 'our reply', sender_id: '100', dm_conversation_id: '100-200' },
      { id: '20', event_type: 'MessageCreate', text: 'in a group', sender_id: '300', dm_conversation_id: '1582838223849152512' },
      { id: '15', event_type: 'ParticipantsJoin', dm_conversation_id: '1582838223849152512' },
      { id: '10', event_type: 'MessageCreate', text: 'hello', sender_id: '200', dm_conversation_id: '100-200' },
    ],
    meta: { result_count: 4, next_token: 'abc' },
  });
  expect(parseDmEventsPage(page, '100').events.map((e) => e.kind)).toEqual(['echo', 'other', 'other', 'message']);
  expect(parseDmEventsPage(dmEventsPageSchema.parse({ meta: { result_count: 0 } }), '100')).toEqual({ events: [], unreadable: [] });
});

test('X ids compare as 64-bit numbers, not as strings', () => {
  expect(compareXIds('999', '1000')).toBe(-1);
  expect(compareXIds('1371204467341807622', '1371204467341807621')).toBe(1);
  expect(compareXIds('18446744073709551615', '18446744073709551615')).toBe(0);
});

describe('ids that are not numbers are set aside at the boundary, not passed on to be compared', () => {
  const good = { id: '40', event_type: 'MessageCreate', text: 'fine', sender_id: '200', dm_conversation_id: '100-200' };
  const bad = [
    { ...good, id: 'abc', text: 'id not a number' },
    { ...good, id: '1e3', text: 'exponent' },
    { ...good, id: '', text: 'empty' },
    { ...good, id: 42, text: 'id a JSON number' },
    { ...good, id: '41', sender_id: 'x-200', text: 'sender not a number' },
  ];

  test('polled page: the good event is read, each bad one set aside with a stable key and the reason', () => {
    const page = dmEventsPageSchema.parse({ data: [...bad, good], meta: { result_count: 6 } });
    const { events, unreadable } = parseDmEventsPage(page, '100');
    expect(events.map((e) => e.id)).toEqual(['40']);
    expect(unreadable).toHaveLength(bad.length);
    expect(unreadable[0]).toEqual({ key: expect.stringMatching(/^unreadable:[0-9a-f]{40}$/), event: bad[0], problem: 'id must be a numeric X id' });
    expect(unreadable[4].problem).toBe('sender_id must be a numeric X id');
    // The same event, read again (the next poll, a redelivery), has the same key: it is recorded once.
    expect(parseDmEventsPage(page, '100').unreadable.map((u) => u.key)).toEqual(unreadable.map((u) => u.key));
    expect(new Set(unreadable.map((u) => u.key)).size).toBe(bad.length);
    // What the poller does with every id it keeps: never throws now.
    for (const e of events) expect(() => compareXIds(e.id, '39')).not.toThrow();
  });

  test('Account Activity delivery: the same', () => {
    const body = structuredClone(aaa('aaa-dm-received.json'));
    const dm = body.direct_message_events[0];
    body.direct_message_events = [{ ...dm, id: 'not-a-snowflake' }, { ...dm, message_create: { ...dm.message_create, sender_id: 'eve' } }, dm];
    const { events, unreadable } = parseAccountActivity(accountActivitySchema.parse(body));
    expect(events.map((e) => e.id)).toEqual([dm.id]);
    expect(unreadable.map((u) => u.problem)).toEqual(['id must be a numeric X id', 'message_create.sender_id must be a numeric X id']);
  });

  test("a delivery whose for_user_id is not an X id is not X's", () => {
    expect(accountActivitySchema.safeParse({ ...aaa('aaa-dm-received.json'), for_user_id: '{"a":1}' }).success).toBe(false);
  });
});
