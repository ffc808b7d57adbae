import fs from 'node:fs';
import path from 'node:path';
import { dashboardDir } from '../../src/http/dashboard';
import { accountWithAdmin } from '../helpers/agents';
import { request, Stack, startStack } from '../helpers/stack';

/** How the api serves the dashboard (built by `npm run build`, which npm ci runs) and its widget preview. */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({}, { worker: false });
});
afterAll(async () => {
  await stack?.stop();
});

test('every page path is the app, never cached, under a self-only CSP; its hashed files are cached for a year', async () => {
  const page = await request(stack.url, 'GET', '/inbox/00000000-0000-4000-8000-000000000000?tab=mine');
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/text\/html/);
  expect(page.headers.get('cache-control')).toBe('no-cache');
  expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'; script-src 'self'; style-src 'self';.*frame-ancestors 'none'/);
  expect(page.headers.get('x-frame-options')).toBe('DENY');
  const script = /src="(\/assets\/[^"]+\.js)"/.exec(page.text)![1];
  const asset = await fetch(stack.url + script);
  expect(asset.status).toBe(200);
  expect(asset.headers.get('cache-control')).toBe('max-age=31536000,immutable');
  expect(fs.existsSync(path.join(dashboardDir(), script))).toBe(true);
  // The API's paths stay the API's.
  expect((await request(stack.url, 'GET', '/api/nothing')).body.error.code).toBe('not_found');
});

test('the widget preview opens only framed by the dashboard, signed in, with its settings validated and escaped', async () => {
  const { admin } = await accountWithAdmin(stack);
  const framed = { cookie: admin.cookie, 'sec-fetch-site': 'same-origin', 'sec-fetch-dest': 'iframe' };
  const query = new URLSearchParams({
    channel: '00000000-0000-4000-8000-000000000001',
    welcome_message: '"><script>alert(1)</script>',
    brand_color: 'red; background:url(x)',
    logo_url: 'javascript:alert(2)',
  });
  const ok = await request(stack.url, 'GET', `/widget-preview?${query}`, { headers: framed });
  expect(ok.status).toBe(200);
  expect(ok.text).toContain('data-welcome-message="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
  expect(ok.text).not.toContain('<script>alert');
  expect(ok.text).not.toContain('data-brand-color');
  expect(ok.text).not.toContain('data-logo-url');
  expect(ok.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
  // A link from another site (the cookie comes along: SameSite=Lax), a page opened on its own, nobody signed in.
  for (const headers of [
    { ...framed, 'sec-fetch-site': 'cross-site' },
    { ...framed, 'sec-fetch-dest': 'document' },
    { 'sec-fetch-site': 'same-origin', 'sec-fetch-dest': 'iframe' },
  ]) {
    expect((await request(stack.url, 'GET', `/widget-preview?${query}`, { headers })).status).toBe(403);
  }
});

test('every answer, JSON, errors and pages alike, is not to be sniffed, framed or given a referrer; only pages may load anything', async () => {
  for (const [method, path] of [['GET', '/api/nothing'], ['GET', '/healthz'], ['GET', '/openapi.json'], ['POST', '/webhooks/telegram/not-a-channel'], ['GET', '/api/me']] as const) {
    const r = await request(stack.url, method, path);
    expect([path, r.headers.get('x-content-type-options'), r.headers.get('x-frame-options'), r.headers.get('referrer-policy')]).toEqual([path, 'nosniff', 'DENY', 'no-referrer']);
    expect([path, r.headers.get('content-security-policy')]).toEqual([path, "default-src 'none'; frame-ancestors 'none'"]);
    // Served over plain http here: no HSTS.
    expect(r.headers.get('strict-transport-security')).toBeNull();
  }
  // The API viewer's page (its own policy: test/integration/api-docs.test.ts) runs PingBack's scripts only.
  const docs = await request(stack.url, 'GET', '/docs');
  expect(docs.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'self'; .*frame-ancestors 'none'$/);
});

test('behind https (PUBLIC_BASE_URL), browsers are told to stay on https', async () => {
  const secure = await startStack({ PUBLIC_BASE_URL: 'https://pingback.example' }, { worker: false });
  try {
    const r = await request(secure.url, 'GET', '/healthz');
    expect(r.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  } finally {
    await secure.stop();
  }
});
