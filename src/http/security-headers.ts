import type { Context, Middleware } from 'koa';

/**
 * Headers every answer carries, JSON, files and errors alike: nothing PingBack answers is to be
 * sniffed into another type, framed, or given a referrer, and an answer that is not a page runs
 * nothing (a customer's file opened from its URL included). Pages set their own policy over
 * this one (pageSecurityHeaders). Behind https (PUBLIC_BASE_URL), browsers are told to stay there.
 */
export function securityHeaders(opts: { https: boolean }): Middleware {
  return async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
    if (opts.https) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    await next();
  };
}

/** A page's own policy: what it may load, and no framing by anyone else. */
export function pageSecurityHeaders(ctx: Context, csp: string): void {
  ctx.set('Content-Security-Policy', csp);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Referrer-Policy', 'same-origin');
  ctx.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
  ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
}
