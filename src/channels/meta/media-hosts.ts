import { PlatformError } from '../platform-error';
import type { AdapterContext } from '../types';

/**
 * Where Meta serves attachment media from. Instagram's attachment URLs come in the
 * webhook itself and WhatsApp's from `GET /{media-id}`; PingBack fetches them from
 * inside the deployment, so anything else (169.254.169.254, localhost, an intranet
 * host) is refused before a request is made, at every redirect hop. The hosts seen:
 * lookaside.fbsbx.com (WhatsApp media, Instagram `ig_messaging_cdn`; in the recorded
 * fixtures), and the CDNs Meta's media URLs redirect to or name directly
 * (scontent-*.xx.fbcdn.net, scontent-*.cdninstagram.com).
 */
const EXACT_HOSTS = ['lookaside.fbsbx.com'];
const HOST_SUFFIXES = ['.fbcdn.net', '.cdninstagram.com'];

/**
 * Whether `url` may be fetched: https on a Meta media host, or anything on the origin of
 * META_GRAPH_BASE_URL: a deployment that points the Graph API elsewhere (the sandbox
 * fake, a proxy) has chosen to trust that origin with its tokens already.
 */
export function isAllowedMediaUrl(url: URL, ctx: Pick<AdapterContext, 'metaGraphBaseUrl'>): boolean {
  if (url.origin === new URL(ctx.metaGraphBaseUrl).origin) return true;
  if (url.protocol !== 'https:' || url.username || url.password) return false;
  const host = url.hostname.toLowerCase();
  return EXACT_HOSTS.includes(host) || HOST_SUFFIXES.some((suffix) => host.endsWith(suffix));
}

/**
 * The URL (resolved against `base`, for a redirect's Location), parsed, or a `rejected`
 * PlatformError naming its host (never the whole URL: it is signed).
 */
export function checkMediaUrl(raw: string, ctx: Pick<AdapterContext, 'metaGraphBaseUrl'>, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    throw new PlatformError('rejected', 'the media URL is not a valid URL; not fetched');
  }
  if (!isAllowedMediaUrl(url, ctx)) {
    throw new PlatformError('rejected', `the media URL points at ${url.protocol}//${url.host}, which is not a Meta media host; not fetched`);
  }
  return url;
}
