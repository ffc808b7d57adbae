import fs from 'node:fs';
import path from 'node:path';
import { send } from '@koa/send';
import type { Context, Middleware } from 'koa';
import { webchatConfigSchema } from '../channels/webchat/config';
import { pageSecurityHeaders } from './security-headers';

/** Paths the API, the platforms and the widget own: never the dashboard's. */
const NOT_THE_DASHBOARD = /^\/(api|auth|admin|webhooks|widget|widget\.js|docs|openapi\.json|healthz|livez|readyz|codec)(\/|$)/;

/**
 * The dashboard's pages only ever load PingBack's own files, so everything else is refused:
 * injected text that somehow became markup still could not run a script, load one from
 * elsewhere, or be framed by another site.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-src 'self'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders = (ctx: Context, csp = DASHBOARD_CSP) => pageSecurityHeaders(ctx, csp);

/** The built dashboard (npm run build puts it in dist/web), found from the package's root in source and compiled runs alike. */
export function dashboardDir(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, 'dist', 'web');
}

/**
 * Serves the dashboard at `/`: its hashed files under /assets for a year (a new build has new
 * names), and index.html, never cached, for every other page path (the app routes in the
 * browser), so a reload or a shared link to /inbox/… opens the same view.
 */
export function dashboard(opts: { signedIn(ctx: Context): Promise<boolean>; root?: string }): Middleware {
  const root = opts.root ?? dashboardDir();
  return async (ctx, next) => {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || NOT_THE_DASHBOARD.test(ctx.path)) return next();
    if (ctx.path === '/widget-preview') {
      // For the dashboard's own frame only: nobody may show their words on PingBack's address. The
      // session cookie alone would not tell (SameSite=Lax sends it with a link from another site);
      // the browser's Sec-Fetch headers say who asked, and how.
      const framedByUs = ctx.get('sec-fetch-site') === 'same-origin' && ctx.get('sec-fetch-dest') === 'iframe';
      if (!framedByUs || !(await opts.signedIn(ctx))) {
        securityHeaders(ctx);
        ctx.status = 403;
        ctx.type = 'text/plain';
        ctx.body = 'The widget preview opens only inside the dashboard, signed in.';
        return;
      }
      return widgetPreview(ctx);
    }
    securityHeaders(ctx);
    if (ctx.path.startsWith('/assets/')) {
      await send(ctx, ctx.path, { root, maxage: 365 * 86_400_000, immutable: true }).catch(() => undefined);
      if (ctx.status === 404 || ctx.body === undefined) return next();
      return;
    }
    // Files the build copies as they are (the favicon).
    if (/^\/[\w.-]+\.(svg|ico|png|txt)$/.test(ctx.path) && fs.existsSync(path.join(root, ctx.path))) {
      await send(ctx, ctx.path, { root, maxage: 86_400_000 });
      return;
    }
    if (!fs.existsSync(path.join(root, 'index.html'))) {
      ctx.status = 503;
      ctx.type = 'text/plain';
      ctx.body = 'The dashboard is not built: run `npm run build`.';
      return;
    }
    await send(ctx, 'index.html', { root });
    ctx.set('Cache-Control', 'no-cache');
  };
}

const PREVIEW_SETTINGS = webchatConfigSchema.pick({ welcome_message: true, brand_color: true, logo_url: true });
const attribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The Widget settings' live preview, framed by the dashboard: the real widget script with the
 * settings being edited (not yet saved) in its tag, open, sending nothing. Settings that do not
 * validate are left out, and every value is escaped into its attribute; the page runs no script
 * of its own. The widget draws itself with a style element, so this page (unlike the dashboard)
 * allows inline styles, and any https image for the logo.
 */
function widgetPreview(ctx: Context): void {
  const q = (name: string) => (typeof ctx.query[name] === 'string' ? (ctx.query[name] as string) : undefined);
  const channel = q('channel') ?? '';
  const settings: Record<string, string> = {};
  for (const key of ['welcome_message', 'brand_color', 'logo_url'] as const) {
    const value = q(key);
    const parsed = value === undefined ? undefined : PREVIEW_SETTINGS.shape[key].safeParse(value);
    if (parsed?.success && parsed.data) settings[key] = parsed.data;
  }
  securityHeaders(
    ctx,
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'",
  );
  ctx.set('X-Frame-Options', 'SAMEORIGIN');
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'text/html; charset=utf-8';
  const data = Object.entries(settings)
    .map(([k, v]) => ` data-${k.replace(/_/g, '-')}="${attribute(v)}"`)
    .join('');
  ctx.body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Widget preview</title>
<style>body{margin:0;height:100vh;font:14px system-ui,sans-serif;color:#64748b;background:repeating-linear-gradient(45deg,#f8fafc,#f8fafc 12px,#f1f5f9 12px,#f1f5f9 24px)}p{margin:16px}</style></head>
<body><p>Your site</p><script src="/widget.js" data-channel="${attribute(/^[0-9a-f-]{36}$/i.test(channel) ? channel : 'preview')}" data-preview${data}></script></body></html>`;
}
