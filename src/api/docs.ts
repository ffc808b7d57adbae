import Router from '@koa/router';
import { pageSecurityHeaders } from '../http/security-headers';
import { openApiDocument } from './openapi';

/** /openapi.json, and a plain page listing the routes (no CDN: PingBack runs offline too). */
export function docsRoutes(): Router {
  const router = new Router();
  const doc = openApiDocument();
  router.get('/openapi.json', (ctx) => {
    ctx.body = doc;
  });
  router.get('/docs', (ctx) => {
    const rows = Object.entries(doc.paths)
      .flatMap(([path, ops]) =>
        Object.entries(ops as Record<string, { summary: string }>).map(
          ([method, op]) => `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${path}</code></td><td>${op.summary}</td></tr>`,
        ),
      )
      .join('\n');
    ctx.type = 'html';
    // Its one inline style, nothing else.
    pageSecurityHeaders(ctx, "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    ctx.body = `<!doctype html><meta charset="utf-8"><title>PingBack API</title>
<style>body{font:15px system-ui;margin:2em}td{padding:4px 12px;border-bottom:1px solid #ddd}</style>
<h1>PingBack API</h1><p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<table>${rows}</table>`;
  });
  return router;
}
