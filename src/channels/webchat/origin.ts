/**
 * Whether a page at `origin` may use a widget restricted to `allowedDomains`
 * (webchat config): exact host names, and `*.example.com` for any subdomain of
 * example.com (not example.com itself, which is listed on its own when wanted).
 * The port and scheme do not matter: `localhost` allows http://localhost:5173.
 * An empty list allows every site.
 */
export function originAllowed(origin: string, allowedDomains: readonly string[]): boolean {
  if (allowedDomains.length === 0) return true;
  let host: string;
  try {
    host = new URL(origin).hostname.toLowerCase();
  } catch {
    return false; // "null" (sandboxed frames, file://) and anything else that is not a URL
  }
  return allowedDomains.some((d) => (d.startsWith('*.') ? host.endsWith(d.slice(1)) && host.length > d.length - 1 : host === d));
}
