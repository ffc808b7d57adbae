import { randomBytes } from 'node:crypto';
import type { MetaFake } from '../../src/sandbox/meta';
import { createAccount, eventually, request, Stack } from './stack';

export const digits = (n: number) => Array.from(randomBytes(n), (b) => String(b % 10)).join('').replace(/^0/, '1');
const secret = () => randomBytes(16).toString('hex');

/**
 * A WhatsApp or Instagram channel made as a user makes one: the number or account exists
 * at Meta (the fake), the channel is created through the API (config sealed as in
 * production) and its token checked by the setup workflow, then the callback URL is
 * "saved in the App Dashboard", which runs Meta's verification handshake.
 */
export async function metaChannel(stack: Stack, meta: MetaFake, type: 'whatsapp' | 'instagram', opts: { subscribe?: boolean; withAccountId?: boolean } = {}) {
  const { apiKey } = await createAccount(stack, 'mini');
  const accessToken = `EAAG${randomBytes(20).toString('hex')}`;
  const appSecret = secret();
  const id = digits(15);
  const igAccountId = `17841${digits(12)}`;
  const config =
    type === 'whatsapp'
      ? { access_token: accessToken, phone_number_id: id, app_secret: appSecret }
      : { access_token: accessToken, page_id: id, app_secret: appSecret, ...(opts.withAccountId === false ? {} : { instagram_account_id: igAccountId }) };
  if (type === 'whatsapp') meta.addWhatsappNumber({ phoneNumberId: id, accessToken, appSecret });
  else meta.addInstagramAccount({ pageId: id, accessToken, appSecret, igAccountId: opts.withAccountId === false ? id : igAccountId });
  const created = await request(stack.url, 'POST', '/api/channels', { token: apiKey, json: { type, name: `${type} test`, config } });
  if (created.status !== 201) throw new Error(`channel create failed: ${created.status} ${created.text}`);
  // Checked before the handshake, so the check finishing late cannot overwrite what the handshake wrote.
  await channelChecked(stack, apiKey, created.body.id);
  if (opts.subscribe !== false) {
    const sub = await meta.subscribe(id, created.body.callback_url, created.body.verify_token);
    if (!sub.ok) throw new Error(`subscribe failed: ${sub.status} ${sub.body}`);
  }
  return { apiKey, channel: created.body, id, igAccountId, accessToken, appSecret };
}

/** Waits for the setup workflow's token check to be done, and returns the channel as the API then shows it. */
export function channelChecked(stack: Stack, apiKey: string, channelId: string): Promise<any> {
  return eventually(async () => {
    const r = await request(stack.url, 'GET', `/api/channels/${channelId}`, { token: apiKey });
    return r.body.status !== 'pending' ? r.body : undefined;
  }, 30_000, `channel ${channelId} checked`);
}

export function inbox(stack: Stack, apiKey: string) {
  const messagesOf = async (conversationId: string): Promise<any[]> => {
    const r = await request(stack.url, 'GET', `/api/conversations/${conversationId}/messages?limit=200`, { token: apiKey });
    if (r.status !== 200) throw new Error(`messages: ${r.status} ${r.text}`);
    return r.body.data;
  };
  return {
    messagesOf,
    conversationFor: (platformUserId: string, count = 1) =>
      eventually(async () => {
        const r = await request(stack.url, 'GET', '/api/conversations', { token: apiKey });
        const conv = r.body.data.find((c: any) => c.contact.platform_user_id === platformUserId);
        return conv && (await messagesOf(conv.id)).length >= count ? conv : undefined;
      }, 30_000, `conversation with ${platformUserId}`),
    /** Waits until the conversation has at least `count` messages. */
    messagesWhen: (conversationId: string, pred: (msgs: any[]) => boolean, what = 'messages') =>
      eventually(async () => {
        const msgs = await messagesOf(conversationId);
        return pred(msgs) ? msgs : undefined;
      }, 30_000, what),
    reply: (conversationId: string, json: object) => request(stack.url, 'POST', `/api/conversations/${conversationId}/messages`, { token: apiKey, json }),
    /** Waits for one message to reach a status. */
    messageIn: (conversationId: string, messageId: string, statuses: string[]) =>
      eventually(async () => {
        const m = (await messagesOf(conversationId)).find((x) => x.id === messageId);
        return m && statuses.includes(m.status) ? m : undefined;
      }, 30_000, `message ${messageId} ${statuses.join('/')}`),
  };
}
