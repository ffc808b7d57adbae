import { MetaFake } from '../../src/sandbox/meta';
import { digits, inbox, metaChannel } from '../helpers/meta-channels';
import { eventually, request, Stack, stackWithFake } from '../helpers/stack';

/**
 * WhatsApp's 24-hour customer service window, from outside: each conversation shows when
 * its window closes, a free-form reply past it is refused up front, and an approved template
 * (listed from the WhatsApp Business Account, its parameters checked) goes out at any time.
 * The Graph API fake keeps the window and the templates as Meta does.
 */
let meta: MetaFake;
let stack: Stack;
stackWithFake(() => MetaFake.start(), (fake) => ({ META_GRAPH_BASE_URL: fake.baseUrl }), (s, fake) => ((stack = s), (meta = fake)));

const HOUR = 3_600_000;

async function conversationWithCustomer() {
  const { apiKey, channel, id, accessToken, appSecret } = await metaChannel(stack, meta, 'whatsapp');
  const from = digits(11);
  await meta.customerSendsWhatsapp(id, { from, name: 'Rui', text: 'Is my order ready?' });
  const conv = await inbox(stack, apiKey).conversationFor(from);
  const api = {
    get: (path: string) => request(stack.url, 'GET', path, { token: apiKey }),
    reply: (json: unknown) => request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json }),
  };
  return { apiKey, channel, id, from, conv, api, accessToken, appSecret };
}

/** 25 hours pass, for PingBack (the customer's last message) and for Meta (the fake's clock). */
async function dayPasses(conversationId: string) {
  await stack.db('conversations').where({ id: conversationId }).update({ last_inbound_at: stack.db.raw("last_inbound_at - interval '25 hours'") });
  meta.advanceClock(25 * HOUR);
}

test("a conversation shows when its window closes; past it a free-form reply is refused before Meta sees it, until the customer writes again", async () => {
  const { id, from, conv, api } = await conversationWithCustomer();
  const closes = new Date(conv.window_closes_at).getTime();
  expect(closes).toBeGreaterThan(Date.now() + 23 * HOUR);
  expect(closes).toBeLessThanOrEqual(Date.now() + 24 * HOUR);
  expect(conv).toMatchObject({ can_reply: true, reply_blocked_reason: null });

  await dayPasses(conv.id);
  const shown = (await api.get(`/api/conversations/${conv.id}`)).body;
  expect(shown).toMatchObject({ can_reply: false, reply_blocked_reason: 'outside_messaging_window' });
  const calls = meta.calls('/messages').length;
  const refused = await api.reply({ content: 'Yes, it is!' });
  expect(refused.status).toBe(409);
  expect(refused.body.error).toMatchObject({ code: 'outside_messaging_window', details: { window_closes_at: shown.window_closes_at } });
  expect(meta.calls('/messages').length).toBe(calls);

  await meta.customerSendsWhatsapp(id, { from, name: 'Rui', text: 'Hello?' });
  await eventually(async () => (await api.get(`/api/conversations/${conv.id}`)).body.can_reply === true, 30_000, 'the window open again');
  const ok = await api.reply({ content: 'Yes, it is!' });
  expect(ok.status).toBe(202);
  await eventually(async () => meta.sentMessages({ to: from }).some((m) => m.text === 'Yes, it is!'), 30_000, 'sent');
});

test('templates: listed from the business account, checked before sending, and sent after the window closed', async () => {
  const { apiKey, channel, id, from, conv, api, accessToken, appSecret } = await conversationWithCustomer();
  const templates = `/api/channels/${channel.id}/templates`;
  const missing = await api.get(templates);
  expect(missing.status).toBe(422);
  expect(missing.body.error.code).toBe('business_account_id_required');

  // WhatsApp Manager: the account's templates, one approved, one still in review.
  const wabaId = digits(15);
  meta.addWhatsappNumber({ phoneNumberId: id, accessToken, appSecret, wabaId });
  meta.addTemplate(wabaId, { name: 'order_ready', language: 'en_US', components: [{ type: 'HEADER', format: 'TEXT', text: 'Order {{1}}' }, { type: 'BODY', text: 'Hi {{1}}, your order is ready for pickup at {{2}}.' }] });
  meta.addTemplate(wabaId, { name: 'draft_promo', language: 'en_US', status: 'PENDING', components: [{ type: 'BODY', text: 'Sale!' }] });
  expect((await request(stack.url, 'PATCH', `/api/channels/${channel.id}`, { token: apiKey, json: { config: { business_account_id: wabaId } } })).status).toBe(200);
  const listed = await api.get(templates);
  expect(listed.status).toBe(200);
  expect(listed.body.data).toEqual([
    { name: 'order_ready', language: 'en_US', category: 'UTILITY', header: 'Order {{1}}', body: 'Hi {{1}}, your order is ready for pickup at {{2}}.', parameters: { header: 1, body: 2 } },
  ]);

  await dayPasses(conv.id);
  const template = (body: string[], header = ['#1042'], name = 'order_ready') => ({
    template: { name, language: 'en_US', components: [{ type: 'header', parameters: header.map((text) => ({ type: 'text', text })) }, { type: 'body', parameters: body.map((text) => ({ type: 'text', text })) }] },
  });
  const calls = meta.calls('/messages').length;
  const short = await api.reply(template(['Rui']));
  expect(short.status).toBe(422);
  expect(short.body.error).toMatchObject({ code: 'template_parameters', message: "template order_ready's body takes 2 parameters, 1 given" });
  const draft = await api.reply(template([], [], 'draft_promo'));
  expect(draft.status).toBe(422);
  expect(draft.body.error.code).toBe('template_not_found');
  expect((await api.reply({ ...template(['Rui', 'Rua Augusta 12']), content: 'and text' })).status).toBe(422);
  expect(meta.calls('/messages').length).toBe(calls);

  const sent = await api.reply(template(['Rui', 'Rua Augusta 12']));
  expect(sent.status).toBe(202);
  expect(sent.body.content).toBe('Order #1042\n\nHi Rui, your order is ready for pickup at Rua Augusta 12.');
  await eventually(async () => (await inbox(stack, apiKey).messagesOf(conv.id)).find((m) => m.id === sent.body.id)?.status === 'sent', 30_000, 'the template sent');
  expect(meta.sentMessages({ to: from }).filter((m) => m.template)).toEqual([
    expect.objectContaining({ template: 'order_ready', text: 'Order #1042\n\nHi Rui, your order is ready for pickup at Rua Augusta 12.' }),
  ]);
});
