import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { DOCS_CSP } from '../../src/api/docs';
import { request, Stack, startStack } from '../helpers/stack';

/** /docs: swagger-ui from PingBack's own files (no CDN), under a policy that runs only those. */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({}, { worker: false });
});
afterAll(async () => {
  await stack?.stop();
});

/** A GET as a browser sends it (fetch adds Cache-Control: no-cache to a conditional request, and undoes gzip). */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

const referenced = (html: string) => [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]);

test('/docs is a page that loads only local files, under its own policy, never cached', async () => {
  const page = await request(stack.url, 'GET', '/docs');
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(page.headers.get('cache-control')).toBe('no-cache');
  expect(page.headers.get('content-security-policy')).toBe(DOCS_CSP);
  expect(DOCS_CSP).toContain("script-src 'self';");
  expect(DOCS_CSP).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline|https?:/);
  expect(page.headers.get('x-frame-options')).toBe('DENY');
  // No inline script: every <script> has a src, and every address is PingBack's own.
  expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  expect(page.text).not.toMatch(/https?:\/\//);
  const urls = referenced(page.text);
  expect(urls.filter((u) => u !== '/openapi.json').every((u) => u.startsWith('/docs/assets/'))).toBe(true);
  expect(urls.some((u) => u.endsWith('/swagger-ui-bundle.js'))).toBe(true);
  expect(urls.some((u) => u.endsWith('/swagger-ui.css'))).toBe(true);
});

test('its files load with their types, cached for a year (the path names the version), gzipped when asked', async () => {
  const page = await request(stack.url, 'GET', '/docs');
  const types: Record<string, RegExp> = { js: /^application\/javascript; charset=utf-8$/, css: /^text\/css; charset=utf-8$/, png: /^image\/png$/ };
  const assets = referenced(page.text).filter((u) => u.startsWith('/docs/assets/'));
  expect(assets.length).toBeGreaterThanOrEqual(4);
  for (const asset of assets) {
    const r = await fetch(stack.url + asset, { headers: { 'accept-encoding': 'identity' } });
    expect([asset, r.status]).toEqual([asset, 200]);
    expect([asset, r.headers.get('content-type')]).toEqual([asset, expect.stringMatching(types[asset.split('.').pop()!])]);
    expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    const body = await r.text();
    expect(body.length).toBeGreaterThan(0);
    // The settings ask for nothing but PingBack's own description.
    if (/\/init\.[0-9a-f]+\.js$/.test(asset)) {
      expect(body).toContain("url: '/openapi.json'");
      expect(body).toContain('validatorUrl: null');
      expect(body).not.toMatch(/https?:\/\//);
    }
    // A second look costs nothing.
    const again = await get(stack.url + asset, { 'if-none-match': r.headers.get('etag')! });
    expect([asset, again.status]).toEqual([asset, 304]);
  }
  // The 1.8 MB bundle travels gzipped to a browser that accepts it.
  const bundle = assets.find((u) => u.endsWith('/swagger-ui-bundle.js'))!;
  const gz = await get(stack.url + bundle, { 'accept-encoding': 'gzip, deflate, br' });
  expect(gz.headers['content-encoding']).toBe('gzip');
  expect(gz.headers.vary).toMatch(/accept-encoding/i);
  expect(gz.body.length).toBeLessThan(700_000);
  expect(gunzipSync(gz.body).toString('utf8')).toContain('SwaggerUIBundle');
});

test('nothing else of node_modules is served, and /docs/* never falls through to the dashboard', async () => {
  const page = await request(stack.url, 'GET', '/docs');
  const dir = /\/docs\/assets\/[^/]+\//.exec(page.text)![0];
  for (const path of [`${dir}package.json`, `${dir}index.html`, `${dir}..%2F..%2Fpackage.json`, '/docs/assets/0.0.0/swagger-ui.css', '/docs/nothing', '/docs/assets/x']) {
    const r = await request(stack.url, 'GET', path);
    expect([path, r.status]).toEqual([path, 404]);
    expect(r.body.error.code).toBe('not_found');
  }
});

test('/openapi.json is what the viewer loads', async () => {
  const r = await request(stack.url, 'GET', '/openapi.json');
  expect(r.status).toBe(200);
  expect(r.body.openapi).toBe('3.1.0');
  // No summary carries markup: the viewer shows summaries as text, descriptions as (sanitized) markdown.
  for (const [path, ops] of Object.entries(r.body.paths as Record<string, Record<string, { summary: string }>>)) {
    for (const [method, op] of Object.entries(ops)) expect([method, path, /<[a-z/!]/i.test(op.summary)]).toEqual([method, path, false]);
  }
});
