import { JSDOM, VirtualConsole } from 'jsdom';
import { channelSecret, createAccount, eventually, request, Stack, startStack } from '../helpers/stack';
import { newVisitorToken, verifyVisitorToken } from '../../src/channels/webchat/visitor-token';

/**
 * The embeddable widget (GET /widget.js) on a page, loaded and run by jsdom from the real
 * api, talking to the real stack: what a site's visitor sees and does. jsdom is not a
 * browser (no layout, no CORS enforcement; the page's fetch adds the Origin header a
 * browser would), but the script, its DOM and its requests are the real ones.
 */
const SITE = 'https://shop.example.com/';
let stack: Stack;
let apiKey: string;
let channelId: string;
const pages: Array<{ window: JSDOM['window']; abort: AbortController }> = [];

beforeAll(async () => {
  stack = await startStack();
  ({ apiKey } = await createAccount(stack, 'free'));
  const ch = await request(stack.url, 'POST', '/api/channels', {
    token: apiKey,
    json: { type: 'webchat', config: { allowed_domains: ['shop.example.com'], welcome_message: 'Hi! Ask us anything.', brand_color: '#aa3300' } },
  });
  expect(ch.status).toBe(201);
  channelId = ch.body.id;
});
afterAll(async () => {
  for (const p of pages) {
    p.abort.abort();
    p.window.close();
  }
  await stack?.stop();
});

/** A page on `url` embedding the widget, as a site would; `storage` is what its localStorage held from an earlier visit. */
function openPage(url = SITE, storage: Record<string, string> = {}) {
  const errors: string[] = [];
  const virtualConsole = new VirtualConsole();
  virtualConsole.on('error', (e) => errors.push(String(e)));
  virtualConsole.on('jsdomError', (e) => errors.push(String(e)));
  const abort = new AbortController();
  const dom = new JSDOM(`<!doctype html><html><body><h1>Shop</h1><script src="${stack.url}/widget.js" data-channel="${channelId}" async></script></body></html>`, {
    url,
    runScripts: 'dangerously',
    resources: 'usable',
    virtualConsole,
    beforeParse(window) {
      for (const [k, v] of Object.entries(storage)) window.localStorage.setItem(k, v);
      const origin = new URL(url).origin;
      (window as any).fetch = async (input: string, init: RequestInit = {}) => {
        // A file the page sends is jsdom's Blob, which Node's fetch cannot read (nor has jsdom's Blob
        // arrayBuffer()): its bytes are read the way a page reads a file, and handed over.
        const body = init.body instanceof window.Blob ? await bytesOf(window, init.body) : init.body;
        return fetch(input, { ...init, body, signal: abort.signal, headers: { ...(init.headers as Record<string, string>), origin } });
      };
    },
  });
  pages.push({ window: dom.window, abort });
  const shadow = () => dom.window.document.querySelector('[data-pingback-widget]')?.shadowRoot ?? null;
  return {
    window: dom.window,
    errors,
    shadow,
    bubbles: () => [...(shadow()?.querySelectorAll('.msg') ?? [])].map((el) => [el.classList.contains('agent') ? 'agent' : 'visitor', el.textContent]),
    async type(text: string) {
      const root = shadow()!;
      root.querySelector<HTMLTextAreaElement>('textarea')!.value = text;
      root.querySelector<HTMLFormElement>('form')!.requestSubmit();
    },
  };
}

function bytesOf(window: JSDOM['window'], blob: Blob): Promise<ArrayBuffer> {
  return new Promise((resolve, reject) => {
    const reader = new window.FileReader();
    reader.onload = () => resolve(reader.result as ArrayBuffer);
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(blob);
  });
}

test('a visitor opens the chat, writes, and sees the agent reply; a returning visitor sees the conversation so far', async () => {
  const script = await fetch(`${stack.url}/widget.js`);
  expect(script.headers.get('content-type')).toMatch(/^application\/javascript/);

  const page = openPage();
  await eventually(async () => page.shadow()?.querySelector('.launcher') ?? undefined, 10_000, 'the widget on the page');
  expect(page.bubbles()).toEqual([['agent', 'Hi! Ask us anything.']]);
  const launcher = page.shadow()!.querySelector<HTMLButtonElement>('.launcher')!;
  launcher.click();
  expect(page.shadow()!.querySelector('.panel')!.classList.contains('open')).toBe(true);
  expect(launcher.getAttribute('aria-expanded')).toBe('true');

  await page.type('Do you ship to Norway? <b>thanks</b>');
  // Shown at once, as text (never as markup), then stored.
  expect(page.bubbles()).toEqual([
    ['agent', 'Hi! Ask us anything.'],
    ['visitor', 'Do you ship to Norway? <b>thanks</b>'],
  ]);
  expect(page.shadow()!.querySelector('b')).toBeNull();
  const conv = await eventually(async () => {
    const list = await request(stack.url, 'GET', `/api/conversations?channel_id=${channelId}`, { token: apiKey });
    return list.body.data[0];
  }, 30_000, 'the conversation in the inbox');
  await eventually(async () => (await request(stack.url, 'GET', `/api/conversations/${conv.id}/messages`, { token: apiKey })).body.data.length === 1, 30_000, 'the message stored');
  expect(page.shadow()!.querySelector('.sending')).toBeNull();

  expect((await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: 'Yes, in 3 days.' } })).status).toBe(202);
  await eventually(async () => page.bubbles().length === 3, 30_000, 'the reply in the widget');
  expect(page.bubbles()).toEqual([
    ['agent', 'Hi! Ask us anything.'],
    ['visitor', 'Do you ship to Norway? <b>thanks</b>'],
    ['agent', 'Yes, in 3 days.'],
  ]);
  expect(page.errors).toEqual([]);

  // The same visitor on another page of the site: the token in localStorage brings the conversation back.
  const key = `pingback:${channelId}:token`;
  const token = page.window.localStorage.getItem(key);
  expect(token).toMatch(/^v_/);
  const again = openPage(`${SITE}checkout`, { [key]: token! });
  await eventually(async () => again.bubbles().length === 3, 30_000, 'the conversation so far');
  expect(again.bubbles()).toEqual(page.bubbles());
  const list = await request(stack.url, 'GET', `/api/conversations?channel_id=${channelId}`, { token: apiKey });
  expect(list.body.data).toHaveLength(1);
});

test('two messages sent before the first answer go to one conversation, in order', async () => {
  const before = (await request(stack.url, 'GET', `/api/conversations?channel_id=${channelId}`, { token: apiKey })).body.data.length;
  const page = openPage(`${SITE}faq`);
  await eventually(async () => page.shadow()?.querySelector('.launcher') ?? undefined, 10_000, 'the widget on the page');
  await page.type('first');
  await page.type('second');
  const conv = await eventually(async () => {
    const list = (await request(stack.url, 'GET', `/api/conversations?channel_id=${channelId}`, { token: apiKey })).body.data;
    return list.length > before ? list[0] : undefined;
  }, 30_000, 'the new conversation');
  await eventually(async () => (await request(stack.url, 'GET', `/api/conversations/${conv.id}/messages`, { token: apiKey })).body.data.length === 2, 30_000, 'both messages stored');
  expect((await request(stack.url, 'GET', `/api/conversations/${conv.id}/messages`, { token: apiKey })).body.data.map((m: any) => m.content)).toEqual(['first', 'second']);
  expect((await request(stack.url, 'GET', `/api/conversations?channel_id=${channelId}`, { token: apiKey })).body.data).toHaveLength(before + 1);
});

test('a visitor attaches files with a caption: shown at once, then stored byte for byte for the agent, in order', async () => {
  const page = openPage(`${SITE}returns`);
  await eventually(async () => page.shadow()?.querySelector('.launcher') ?? undefined, 10_000, 'the widget on the page');
  const root = page.shadow()!;
  const photo = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(3000, 7)]);
  const files = [new page.window.File([photo], 'damaged box.png', { type: 'image/png' }), new page.window.File(['order 1234'], 'order.txt', { type: 'text/plain' })];
  root.querySelector<HTMLTextAreaElement>('textarea')!.value = 'it arrived broken';
  const picker = root.querySelector<HTMLInputElement>('input[type=file]')!;
  Object.defineProperty(picker, 'files', { value: files, configurable: true });
  picker.dispatchEvent(new page.window.Event('change'));
  await page.type('can I get a refund?');
  expect(page.bubbles()).toEqual([
    ['agent', 'Hi! Ask us anything.'],
    ['visitor', 'it arrived broken📎 damaged box.png📎 order.txt'],
    ['visitor', 'can I get a refund?'],
  ]);

  const conv = await eventually(async () => {
    const list = (await request(stack.url, 'GET', `/api/conversations?channel_id=${channelId}`, { token: apiKey })).body.data as any[];
    const mine = await Promise.all(list.map(async (c) => ((await request(stack.url, 'GET', `/api/conversations/${c.id}/messages`, { token: apiKey })).body.data[0]?.content === 'it arrived broken' ? c : undefined)));
    return mine.find(Boolean);
  }, 30_000, 'the conversation in the inbox');
  const messages = await eventually(async () => {
    const data = (await request(stack.url, 'GET', `/api/conversations/${conv.id}/messages`, { token: apiKey })).body.data as any[];
    return data.length === 2 ? data : undefined;
  }, 30_000, 'both messages stored');
  expect(messages.map((m) => [m.content, m.attachments.map((a: any) => [a.fileName, a.mimeType, a.size])])).toEqual([
    ['it arrived broken', [['damaged box.png', 'image/png', photo.length], ['order.txt', 'text/plain', 10]]],
    ['can I get a refund?', []],
  ]);
  const opened = await fetch(`${stack.url}/api/conversations/${conv.id}/messages/${messages[0].id}/attachments/0`, { headers: { authorization: `Bearer ${apiKey}` } });
  expect(Buffer.from(await opened.arrayBuffer()).equals(photo)).toBe(true);
  await eventually(async () => root.querySelector('.sending') === null || undefined, 30_000, 'nothing left sending');
  expect(root.querySelector('.failed')).toBeNull();

  // The agent answers with a file of their own: the widget shows it under the reply.
  const label = await fetch(`${stack.url}/api/conversations/${conv.id}/attachments?name=label.pdf`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/pdf' },
    body: '%PDF-1.4 return label',
  });
  expect(label.status).toBe(201);
  const reply = await request(stack.url, 'POST', `/api/conversations/${conv.id}/messages`, { token: apiKey, json: { content: 'Here is a return label', attachments: [((await label.json()) as any).id] } });
  expect(reply.status).toBe(202);
  await eventually(async () => page.bubbles().length === 4 || undefined, 30_000, 'the reply in the widget');
  expect(page.bubbles().at(-1)).toEqual(['agent', 'Here is a return label📎 label.pdf']);
  expect(page.errors).toEqual([]);
});

test('on a site the channel does not allow, the widget does not appear and says why in the console', async () => {
  const page = openPage('https://elsewhere.example.net/');
  await eventually(async () => page.errors.find((e) => e.includes('PingBack widget')), 10_000, 'the console error');
  expect(page.errors.join('\n')).toMatch(/not enabled for https:\/\/elsewhere\.example\.net/);
  expect(page.shadow()).toBeNull();
});

test("a visitor coming back after half their token's life gets a renewed token, silently, and keeps their conversation", async () => {
  const webhook_secret = await channelSecret(stack, channelId);
  const ttlMs = stack.config.WEBCHAT_VISITOR_TOKEN_DAYS * 86_400_000;
  const old = newVisitorToken(channelId, webhook_secret, { ttlMs, now: Date.now() - 0.75 * ttlMs });
  const key = `pingback:${channelId}:token`;
  const page = openPage(SITE, { [key]: old.token });
  await eventually(async () => page.window.localStorage.getItem(key) !== old.token || undefined, 30_000, 'the token renewed');
  const renewed = verifyVisitorToken(channelId, webhook_secret, page.window.localStorage.getItem(key)!);
  expect(renewed?.visitorId).toBe(old.visitorId);
  expect(renewed!.expiresAt).toBeGreaterThan(old.expiresAt + 0.7 * ttlMs);
  expect(page.errors).toEqual([]);
});
