import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import Router from '@koa/router';
import type { Context } from 'koa';
import { pageSecurityHeaders } from '../http/security-headers';
import { openApiDocument } from './openapi';

/** swagger-ui-dist, from node_modules: the viewer ships with PingBack (no CDN: PingBack runs offline too). */
const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const SWAGGER_UI_VERSION = (JSON.parse(fs.readFileSync(path.join(SWAGGER_UI_DIR, 'package.json'), 'utf8')) as { version: string }).version;

/** The only files of the dist served, and as what. */
const DIST_FILES: Record<string, string> = {
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-bundle.js.map': 'application/json; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui.css.map': 'application/json; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/**
 * The viewer's settings, a file of its own so the page runs no inline script. Nothing from the
 * address bar is read (queryConfigEnabled stays off: no `?url=` to show someone else's spec), and
 * no validator badge (it would call validator.swagger.io).
 */
const INIT_JS = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    queryConfigEnabled: false,
    tryItOutEnabled: false,
    withCredentials: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
`;
const INIT_NAME = `init.${createHash('sha256').update(INIT_JS).digest('hex').slice(0, 12)}.js`;

/** Everything under /docs/assets/: its name changes when its content does, so it is cached for a year. */
export const DOCS_ASSETS = `/docs/assets/${SWAGGER_UI_VERSION}`;

/**
 * The page's own policy: scripts and styles from PingBack only (swagger-ui sets style
 * attributes, hence 'unsafe-inline' for styles, never for scripts), its icons as data: URLs,
 * fetches to PingBack itself (the spec, and "Try it out").
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>PingBack API</title>
<link rel="stylesheet" href="${DOCS_ASSETS}/swagger-ui.css">
<link rel="icon" type="image/png" href="${DOCS_ASSETS}/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="${DOCS_ASSETS}/favicon-16x16.png" sizes="16x16">
</head><body>
<noscript><p>The API viewer needs JavaScript. The description itself: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p></noscript>
<div id="swagger-ui"></div>
<script src="${DOCS_ASSETS}/swagger-ui-bundle.js" charset="utf-8"></script>
<script src="${DOCS_ASSETS}/${INIT_NAME}" charset="utf-8"></script>
</body></html>
`;

interface Asset {
  type: string;
  body: Buffer;
  gzip?: Buffer;
  etag: string;
}

/** A file, read (and its gzip made) on first use, kept: the bundle is 1.8 MB, under 0.5 MB gzipped. */
function assetLoader() {
  const cache = new Map<string, Asset>();
  const make = (type: string, body: Buffer): Asset => ({
    type,
    body,
    gzip: /^(application\/(javascript|json)|text\/)/.test(type) ? gzipSync(body) : undefined,
    // Weak: the gzip and the plain bytes are one resource in two encodings.
    etag: `W/"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
  });
  return (name: string): Asset | undefined => {
    let asset = cache.get(name);
    if (!asset) {
      if (name === INIT_NAME) asset = make('application/javascript; charset=utf-8', Buffer.from(INIT_JS));
      else if (Object.hasOwn(DIST_FILES, name)) asset = make(DIST_FILES[name], fs.readFileSync(path.join(SWAGGER_UI_DIR, name)));
      else return undefined;
      cache.set(name, asset);
    }
    return asset;
  };
}

function sendAsset(ctx: Context, asset: Asset): void {
  ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
  ctx.set('ETag', asset.etag);
  ctx.vary('Accept-Encoding');
  ctx.type = asset.type;
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  if (asset.gzip && ctx.acceptsEncodings('gzip', 'identity') === 'gzip') {
    ctx.set('Content-Encoding', 'gzip');
    ctx.body = asset.gzip;
  } else ctx.body = asset.body;
}

/** /openapi.json, and /docs: the description in swagger-ui, served from PingBack's own files. */
export function docsRoutes(): Router {
  const router = new Router();
  const doc = openApiDocument();
  const asset = assetLoader();
  router.get('/openapi.json', (ctx) => {
    ctx.body = doc;
  });
  router.get('/docs', (ctx) => {
    pageSecurityHeaders(ctx, DOCS_CSP);
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = PAGE;
  });
  router.get('/docs/assets/:version/:name', (ctx) => {
    const found = ctx.params.version === SWAGGER_UI_VERSION ? asset(ctx.params.name) : undefined;
    if (found) sendAsset(ctx, found);
  });
  return router;
}
