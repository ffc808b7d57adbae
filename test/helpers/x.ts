import type { XAccount } from '../../src/sandbox/x-world';
import type { XFake } from '../../src/sandbox/x';
import { createAccount, eventually, request, Stack } from './stack';

/** Helpers for the X suites: channels connected to accounts in the X API fake, and what the inbox shows. */
export function xTestKit(env: () => { stack: Stack; x: XFake }) {
  const api = (key: string) => {
    const { stack } = env();
    return {
      get: (path: string) => request(stack.url, 'GET', path, { token: key }),
      post: (path: string, json: unknown) => request(stack.url, 'POST', path, { token: key, json }),
      patch: (path: string, json: unknown) => request(stack.url, 'PATCH', path, { token: key, json }),
    };
  };

  let nextCustomer = 1133857316862910000n + BigInt(Math.floor(Math.random() * 1e6)) * 1000n;
  const customer = (name = 'Customer') => {
    const id = String(nextCustomer++);
    return { id, name, username: `${name.toLowerCase().replace(/\W/g, '_')}_${id.slice(-4)}` };
  };

  async function channelStatus(key: string, id: string, want: string) {
    return eventually(async () => {
      const r = await api(key).get(`/api/channels/${id}`);
      return r.body.status === want ? r.body : undefined;
    }, 30_000, `channel ${want}`);
  }

  /** An X account in the fake, connected to a fresh PingBack account's channel polling every second. */
  async function xChannel(opts: { inbound?: 'polling' | 'webhook'; oauth2?: boolean; noConsumerSecret?: boolean; account?: XAccount; expect?: string } = {}) {
    const { stack, x } = env();
    const { apiKey } = await createAccount(stack, 'pro');
    const acct = opts.account ?? x.createAccount();
    const c = acct.credentials;
    const credentials = opts.oauth2
      ? { oauth2_user_token: c.oauth2_user_token, ...(opts.noConsumerSecret ? {} : { api_secret: c.api_secret }) }
      : { api_key: c.api_key, api_secret: c.api_secret, access_token: c.access_token, access_token_secret: c.access_token_secret };
    const created = await api(apiKey).post('/api/channels', {
      type: 'x',
      name: 'X support',
      config: { ...credentials, inbound: opts.inbound ?? 'polling', poll_interval_seconds: 1 },
    });
    if (created.status !== 201) throw new Error(`channel create failed: ${created.status} ${created.text}`);
    const channel = await channelStatus(apiKey, created.body.id, opts.expect ?? 'connected');
    return { apiKey, acct, channel };
  }

  async function conversationWith(apiKey: string, userId: string) {
    return eventually(async () => {
      const r = await api(apiKey).get('/api/conversations?channel_type=x');
      return r.body.data.find((c: any) => c.contact.platform_user_id === userId);
    }, 30_000, `conversation with ${userId}`);
  }

  async function messagesOf(apiKey: string, conversationId: string): Promise<any[]> {
    const r = await api(apiKey).get(`/api/conversations/${conversationId}/messages?limit=200`);
    if (r.status !== 200) throw new Error(`messages: ${r.status}`);
    return r.body.data;
  }

  /** The customer's inbound texts, once there are at least `count`. */
  async function inboundTexts(apiKey: string, userId: string, count: number): Promise<string[]> {
    const conv = await conversationWith(apiKey, userId);
    const msgs = await eventually(async () => {
      const all = (await messagesOf(apiKey, conv.id)).filter((m) => m.direction === 'inbound');
      return all.length >= count ? all : undefined;
    }, 30_000, `${count} messages`);
    return msgs.map((m) => m.content);
  }

  /** Polls that started from now have finished: whatever X held by now has been handed on (and stored, a moment later). */
  async function afterPolls(accountId: string, n = 2) {
    const { x } = env();
    const seen = x.calls('dm_events', accountId).length;
    await eventually(async () => x.calls('dm_events', accountId).length >= seen + n, 30_000, `${n} more polls`);
  }

  /** Every inbound row of a channel, in stored order. */
  async function storedInbound(channelId: string) {
    const { stack } = env();
    return stack
      .db('messages as m')
      .join('conversations as c', 'c.id', 'm.conversation_id')
      .where({ 'c.channel_id': channelId, 'm.direction': 'inbound' })
      .orderBy('m.seq')
      .select('m.platform_message_id', 'm.content', 'c.thread_key');
  }

  return { api, customer, channelStatus, xChannel, conversationWith, messagesOf, inboundTexts, afterPolls, storedInbound };
}
