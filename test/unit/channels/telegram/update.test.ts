import { telegramUpdateSchema, toInboundMessages } from '../../../../src/channels/telegram/update';
import { inboundMessageSchema } from '../../../../src/channels/types';
import { fixtureFiles } from '../../../helpers/fixtures';

describe('every inbound Telegram fixture parses into valid inbound messages', () => {
  test.each(fixtureFiles('telegram', 'update-').map((f) => [f.name, f.body]))('%s', (_name, body) => {
    const update = telegramUpdateSchema.parse(body);
    const messages = toInboundMessages(update);
    expect(messages).toHaveLength(1);
    for (const m of messages) {
      expect(inboundMessageSchema.parse(m)).toEqual(m);
      const chat = (body.message ?? body.edited_message ?? body.callback_query?.message).chat;
      expect(m.threadKey).toBe(String(chat.id));
    }
  });
});

test('a photo keeps the largest size and its caption as content', () => {
  const [{ body }] = fixtureFiles('telegram', 'update-group-supergroup-photo-caption');
  const [m] = toInboundMessages(telegramUpdateSchema.parse(body));
  const largest = body.message.photo[body.message.photo.length - 1];
  expect(m.contentType).toBe('image');
  expect(m.attachments).toEqual([expect.objectContaining({ type: 'image', platformFileId: largest.file_id })]);
  expect(m.content).toBe(body.message.caption ?? '');
  // A group conversation is with the group; the writer is the sender.
  expect(m.contact).toMatchObject({ platformUserId: String(body.message.chat.id), name: body.message.chat.title });
  expect(m.sender).toMatchObject({ platformUserId: String(body.message.from.id) });
});

test('an edit is its own event, keyed so a redelivered edit is a no-op', () => {
  const [{ body }] = fixtureFiles('telegram', 'update-edited-message');
  const [m] = toInboundMessages(telegramUpdateSchema.parse(body));
  expect(m.platformMessageId).toBe(`${body.edited_message.message_id}:edit:${body.edited_message.edit_date}`);
  expect(m.metadata).toMatchObject({ edited_message_id: String(body.edited_message.message_id) });
});

test('a button press becomes a button_reply with its data', () => {
  const [{ body }] = fixtureFiles('telegram', 'update-callback-query');
  const [m] = toInboundMessages(telegramUpdateSchema.parse(body));
  expect(m).toMatchObject({ contentType: 'button_reply', content: body.callback_query.data, platformMessageId: `callback:${body.callback_query.id}` });
});

test('update types PingBack does not handle are accepted and carry no messages', () => {
  const update = telegramUpdateSchema.parse({ update_id: 5, my_chat_member: { chat: { id: 1 } } });
  expect(toInboundMessages(update)).toEqual([]);
});

test.each([
  ['no update_id', { message: { message_id: 1, date: 1, chat: { id: 1, type: 'private' } } }],
  ['update_id not a number', { update_id: '7' }],
  ['message without chat', { update_id: 1, message: { message_id: 1, date: 1 } }],
  ['not an object', [1, 2]],
])('rejects %s', (_why, body) => {
  expect(telegramUpdateSchema.safeParse(body).success).toBe(false);
});

test('a message date past what a Date holds is refused by the schema (a 400), not a failed request', () => {
  const body = { update_id: 9, message: { message_id: 1, date: 1e20, chat: { id: 5, type: 'private', first_name: 'X' }, text: 'hi' } };
  expect(telegramUpdateSchema.safeParse(body).success).toBe(false);
  expect(telegramUpdateSchema.safeParse({ ...body, message: { ...body.message, date: 1700000000 } }).success).toBe(true);
});
