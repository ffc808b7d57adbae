import { instagramEnvelope, instagramEvents } from '../../../../src/channels/instagram/webhook';
import type { MetaWebhookEvent } from '../../../../src/channels/meta/events';
import { inboundMessageSchema, messageStatusUpdateSchema } from '../../../../src/channels/types';
import { whatsappEnvelope, whatsappEvents } from '../../../../src/channels/whatsapp/webhook';
import { fixtureFiles } from '../../../helpers/fixtures';

/** What the ingress does: the envelope must parse (or the POST is a 400), then each item on its own. */
const parseWhatsappWebhook = (body: unknown) => whatsappEvents(whatsappEnvelope.parse(body));
const parseInstagramWebhook = (body: unknown) => instagramEvents(instagramEnvelope.parse(body));
const events = (parse: (b: unknown) => MetaWebhookEvent[], body: unknown): MetaWebhookEvent[] => parse(body);
const onlyMessage = (parse: (b: unknown) => MetaWebhookEvent[], body: unknown) => {
  const evs = events(parse, body);
  expect(evs).toHaveLength(1);
  expect(evs[0].kind).toBe('message');
  return (evs[0] as Extract<MetaWebhookEvent, { kind: 'message' }>).message;
};
const wa = (prefix: string) => fixtureFiles('whatsapp', prefix)[0].body;
const ig = (prefix: string) => fixtureFiles('instagram', prefix)[0].body;

describe('every inbound WhatsApp fixture parses', () => {
  test.each(fixtureFiles('whatsapp', 'message-').map((f) => [f.name, f.body]))('%s', (_name, body) => {
    const m = onlyMessage(parseWhatsappWebhook, body);
    const raw = body.entry[0].changes[0].value.messages[0];
    expect(inboundMessageSchema.parse(m)).toEqual(m);
    expect(m.platformMessageId).toBe(raw.id);
    expect(m.threadKey).toBe(raw.from);
    // The profile name from the payload is kept on the contact.
    expect(m.contact).toMatchObject({ platformUserId: raw.from, name: body.entry[0].changes[0].value.contacts[0].profile.name });
    expect(m.platformTimestamp).toBe(new Date(Number(raw.timestamp) * 1000).toISOString());
    expect(m.metadata.whatsapp_type).toBe(raw.type);
  });

  test.each(fixtureFiles('whatsapp', 'status-').map((f) => [f.name, f.body]))('%s', (_name, body) => {
    const evs = events(parseWhatsappWebhook, body);
    const raw = body.entry[0].changes[0].value.statuses[0];
    expect(evs).toEqual([{ kind: 'status', owner: '1122334455667', threadKey: raw.recipient_id, update: expect.objectContaining({ platformMessageId: raw.id, status: raw.status }) }]);
    const update = (evs[0] as any).update;
    expect(messageStatusUpdateSchema.parse(update)).toEqual(update);
  });
});

describe('each WhatsApp message kind', () => {
  test.each([
    ['message-text.json', 'text', 'Body Text'],
    ['message-image.json', 'image', ''],
    ['message-video-forwarded.json', 'video', 'caption'],
    ['message-document.json', 'document', 'caption'],
    ['message-audio.json', 'audio', ''],
    ['message-voice.json', 'voice', ''],
    ['message-sticker.json', 'sticker', ''],
  ])('%s keeps its media id as an attachment', (file, type, content) => {
    const body = wa(file);
    const m = onlyMessage(parseWhatsappWebhook, body);
    const media = Object.values(body.entry[0].changes[0].value.messages[0]).find((v: any) => v?.id && v?.mime_type) as any;
    expect([m.contentType, m.content]).toEqual([type, content]);
    if (type !== 'text') expect(m.attachments).toEqual([expect.objectContaining({ type, platformFileId: media.id, mimeType: media.mime_type })]);
  });

  test('document keeps its file name; forwarded is noted', () => {
    const m = onlyMessage(parseWhatsappWebhook, wa('message-document.json'));
    expect(m.attachments[0].fileName).toBe('filename.pdf');
    expect(m.metadata.forwarded).toBe(true);
  });

  test('location, contacts, reactions, replies and button replies', () => {
    expect(onlyMessage(parseWhatsappWebhook, wa('message-location.json'))).toMatchObject({
      contentType: 'location',
      content: 'Facebook HQ, 1 Hacker Way, Menlo Park, CA 94025',
      attachments: [{ type: 'location', latitude: 37.4611978, longitude: -122.2164385 }],
    });
    const contacts = onlyMessage(parseWhatsappWebhook, wa('message-contacts.json'));
    expect([contacts.contentType, contacts.content, contacts.attachments.length]).toEqual(['contacts', 'Chandler Bing, Monica, Rachel Green', 3]);
    expect(onlyMessage(parseWhatsappWebhook, wa('message-reaction.json'))).toMatchObject({
      contentType: 'reaction',
      content: '\u{1F62E}',
      metadata: { reacted_to_message_id: 'wamid.yzxyzx=', reaction_removed: false },
    });
    expect(onlyMessage(parseWhatsappWebhook, wa('message-reaction-removed.json')).metadata).toMatchObject({ reaction_removed: true });
    expect(onlyMessage(parseWhatsappWebhook, wa('message-reply-context.json'))).toMatchObject({
      content: 'replied text',
      metadata: { reply_to_message_id: 'wamid.xyzxyz==' },
    });
    expect(onlyMessage(parseWhatsappWebhook, wa('message-interactive-button-reply.json'))).toMatchObject({ contentType: 'button_reply', content: 'title', metadata: { reply_id: 'callback_data' } });
    expect(onlyMessage(parseWhatsappWebhook, wa('message-interactive-list-reply.json'))).toMatchObject({
      contentType: 'list_reply',
      metadata: { reply_id: 'callback_data', reply_description: 'description' },
    });
    expect(onlyMessage(parseWhatsappWebhook, wa('message-button-quick-reply.json'))).toMatchObject({ contentType: 'button_reply', metadata: { reply_payload: 'callback_data' } });
  });

  test('unsupported messages are kept as such, with what Meta said', () => {
    const m = onlyMessage(parseWhatsappWebhook, wa('message-unsupported-with-type.json'));
    expect(m).toMatchObject({ contentType: 'unsupported', content: '', metadata: { unsupported_type: 'pool' } });
    expect(m.metadata.platform_errors).toEqual(['(#131051) Message type unknown: Message type is currently not supported.']);
  });

  test('a failed status carries Meta\'s reason', () => {
    const [ev] = events(parseWhatsappWebhook, wa('status-failed.json')) as any[];
    expect(ev.update.error).toBe("(#130472) User's number is part of an experiment: Failed to send message because this user's phone number is part of an experiment");
  });

  test('one POST with many entries, changes and messages gives one event each, in order', () => {
    const a = wa('message-text.json');
    const change = (from: string, ids: string[]) => ({
      ...a.entry[0].changes[0],
      value: { ...a.entry[0].changes[0].value, contacts: [{ profile: { name: from }, wa_id: from }], messages: ids.map((id) => ({ ...a.entry[0].changes[0].value.messages[0], id, from })) },
    });
    const body = { object: a.object, entry: [{ id: '1', changes: [change('111', ['m1', 'm2']), change('222', ['m3'])] }, { id: '1', changes: [change('111', ['m4'])] }] };
    const evs = events(parseWhatsappWebhook, body) as any[];
    expect(evs.map((e) => [e.message.platformMessageId, e.message.threadKey])).toEqual([['m1', '111'], ['m2', '111'], ['m3', '222'], ['m4', '111']]);
  });

  test.each([
    ['no object', { entry: [] }],
    ['another object', { object: 'instagram', entry: [] }],
    ['an entry without changes', { object: 'whatsapp_business_account', entry: [{ id: '1' }] }],
    ['not an object', [1, 2]],
  ])('rejects an envelope with %s', (_why, body) => {
    expect(whatsappEnvelope.safeParse(body).success).toBe(false);
  });

  test('an unreadable message, status or value is kept as unparseable; the items beside it still arrive', () => {
    const text = (id: string, from = '111') => ({ from, id, timestamp: '1700000000', type: 'text', text: { body: id } });
    const value = (extra: object) => ({ metadata: { phone_number_id: 'pn' }, contacts: [{ wa_id: '111', profile: { name: 'Ada' } }, { wa_id: 42 }], ...extra });
    const evs = parseWhatsappWebhook({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: 'waba',
          changes: [
            { field: 'messages', value: value({ messages: [text('m1'), { from: '111', timestamp: '1', type: 'text' }, text('m2', '222')] }) },
            { field: 'messages', value: value({ statuses: [{ id: 'wamid.s', status: 'read' }, { id: 'wamid.t', status: 'read', timestamp: '1', recipient_id: '111' }] }) },
            { field: 'messages', value: { messages: [text('lost')] } },
          ],
        },
      ],
    }) as any[];
    expect(evs.map((e) => e.kind === 'message' ? e.message.platformMessageId : e.kind === 'status' ? e.update.platformMessageId : e.reason)).toEqual([
      'm1', 'unparseable', 'm2', 'unparseable', 'wamid.t', 'unparseable',
    ]);
    // A malformed contact costs nothing but its name.
    expect(evs[0].message.contact.name).toBe('Ada');
    expect(evs[1]).toEqual({
      kind: 'ignored',
      owner: 'pn',
      reason: 'unparseable',
      eventId: expect.stringMatching(/^[0-9a-f]{40}$/),
      payload: { item: { from: '111', timestamp: '1', type: 'text' }, issues: [{ path: 'entry.0.changes.0.value.messages.1.id', message: expect.any(String) }] },
    });
    expect(evs[3].payload.issues.map((i: any) => i.path)).toEqual(['entry.0.changes.1.value.statuses.0.timestamp']);
    // Without metadata the business number is unknown: the whole value is the item, owned by the entry.
    expect(evs[5]).toMatchObject({ owner: 'waba', payload: { item: { messages: [text('lost')] }, issues: [{ path: 'entry.0.changes.2.value.metadata' }] } });
    // The same bytes get the same id: a redelivery records nothing new.
    expect(parseWhatsappWebhook({ object: 'whatsapp_business_account', entry: [{ id: 'w', changes: [{ field: 'messages', value: value({ messages: [{ from: '111', timestamp: '1', type: 'text' }] }) }] }] })[0])
      .toMatchObject({ reason: 'unparseable', eventId: evs[1].eventId });
  });

  test('other fields and unknown statuses are acknowledged as ignored', () => {
    const evs = events(parseWhatsappWebhook, {
      object: 'whatsapp_business_account',
      entry: [{ id: 'waba', changes: [{ field: 'message_template_status_update', value: { event: 'APPROVED' } }] }],
    });
    expect(evs).toEqual([expect.objectContaining({ kind: 'ignored', reason: 'field_not_handled:message_template_status_update' })]);
  });
});

describe('every Instagram fixture parses', () => {
  const inbound = fixtureFiles('instagram').filter((f) => !f.name.startsWith('send-'));
  test.each(inbound.map((f) => [f.name, f.body]))('%s', (_name, body) => {
    const evs = events(parseInstagramWebhook, body);
    expect(evs).toHaveLength(1);
    const raw = body.entry[0].messaging[0];
    expect(evs[0].owner).toBe(body.entry[0].id);
    if (evs[0].kind === 'message') {
      expect(inboundMessageSchema.parse(evs[0].message)).toEqual(evs[0].message);
      expect(evs[0].message.threadKey).toBe(raw.sender.id);
    }
  });

  test('text, image, story reply and mention, unsend, reaction', () => {
    expect(onlyMessage(parseInstagramWebhook, ig('message-text.json'))).toMatchObject({ contentType: 'text', content: 'Hi, is this still available?', threadKey: '1234567890123456' });
    const image = onlyMessage(parseInstagramWebhook, ig('message-image.json'));
    expect(image).toMatchObject({ contentType: 'image', attachments: [{ type: 'image', url: expect.stringContaining('lookaside.fbsbx.com') }] });
    expect(onlyMessage(parseInstagramWebhook, ig('message-story-reply.json'))).toMatchObject({
      contentType: 'story_reply',
      content: 'Love this!',
      attachments: [{ type: 'story', platformFileId: '17900000000000000' }],
      metadata: { reply_to_story_id: '17900000000000000' },
    });
    expect(onlyMessage(parseInstagramWebhook, ig('message-story-mention.json'))).toMatchObject({ contentType: 'story_mention', attachments: [{ type: 'story_mention' }] });
    const unsend = onlyMessage(parseInstagramWebhook, ig('message-unsend.json'));
    expect(unsend).toMatchObject({ contentType: 'unsend', metadata: { deleted_message_id: ig('message-unsend.json').entry[0].messaging[0].message.mid } });
    expect(unsend.platformMessageId).toMatch(/:deleted$/);
    expect(onlyMessage(parseInstagramWebhook, ig('reaction.json'))).toMatchObject({ contentType: 'reaction', content: '❤️' });
    // Milliseconds, and the dashboard sample's seconds-as-string, both land on the right date.
    expect(onlyMessage(parseInstagramWebhook, ig('message-text.json')).platformTimestamp).toBe('2025-01-01T00:00:00.000Z');
    expect(onlyMessage(parseInstagramWebhook, ig('message-text-dashboard-test.json')).platformTimestamp).toBe('2018-05-27T22:23:44.000Z');
  });

  test('an echo of the business\'s own message is not a customer message; a read is a status', () => {
    expect(events(parseInstagramWebhook, ig('message-echo.json'))).toEqual([expect.objectContaining({ kind: 'ignored', reason: 'echo' })]);
    const body = ig('read.json');
    expect(events(parseInstagramWebhook, body)).toEqual([
      { kind: 'status', owner: body.entry[0].id, threadKey: '1234567890123456', update: expect.objectContaining({ platformMessageId: body.entry[0].messaging[0].read.mid, status: 'read' }) },
    ]);
  });

  test('events PingBack cannot act on are acknowledged as ignored, not refused', () => {
    const body = (event: object) => ({ object: 'instagram', entry: [{ id: '1', time: 1, messaging: [{ sender: { id: '2' }, recipient: { id: '1' }, timestamp: 1, ...event }] }] });
    for (const event of [{ read: { watermark: 1458668856253 } }, { message_edit: { mid: 'm', text: 'x', num_edit: 1 } }, { referral: { ref: 'ad' } }]) {
      expect(events(parseInstagramWebhook, body(event))).toEqual([expect.objectContaining({ kind: 'ignored', reason: 'event_not_handled' })]);
    }
  });

  test('a wrong object is rejected; a malformed event is kept as unparseable and the others arrive', () => {
    expect(instagramEnvelope.safeParse({ object: 'page', entry: [] }).success).toBe(false);
    expect(instagramEnvelope.safeParse({ object: 'instagram', entry: [{ messaging: [] }] }).success).toBe(false);
    const text = (mid: string) => ({ sender: { id: '2' }, recipient: { id: '1' }, timestamp: 1, message: { mid, text: mid } });
    const bad = { sender: {}, recipient: { id: '1' }, timestamp: 1 };
    const evs = parseInstagramWebhook({ object: 'instagram', entry: [{ id: '1', messaging: [text('a'), bad, text('b')] }] }) as any[];
    expect(evs.map((e) => e.kind === 'message' ? e.message.platformMessageId : e.reason)).toEqual(['a', 'unparseable', 'b']);
    expect(evs[1]).toMatchObject({ owner: '1', payload: { item: bad, issues: [{ path: 'entry.0.messaging.1.sender.id' }] } });
  });
});
