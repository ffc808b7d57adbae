import { createHmac, randomBytes } from 'node:crypto';

/**
 * OAuth 1.0a request signing, HMAC-SHA1 (RFC 5849 §3.4), as X requires for user-context
 * requests signed with consumer key/secret and access token/secret
 * (docs.x.com "OAuth 1.0a: creating a signature"). Written here rather than taken from a
 * library: it is ~60 lines, and the sandbox verifies signatures with the same functions.
 */
export interface OAuth1Credentials {
  consumerKey: string;
  consumerSecret: string;
  token: string;
  tokenSecret: string;
}

/**
 * RFC 5849 §3.6: every byte except ALPHA / DIGIT / "-" / "." / "_" / "~" as %XX (upper case)
 * over UTF-8. encodeURIComponent leaves !'()* alone, which the RFC does not.
 */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** §3.4.1.2: scheme and host lower case, default port dropped, no query or fragment. */
export function baseStringUri(url: URL): string {
  const defaultPort = (url.protocol === 'http:' && url.port === '80') || (url.protocol === 'https:' && url.port === '443');
  const host = url.hostname.toLowerCase() + (url.port && !defaultPort ? `:${url.port}` : '');
  return `${url.protocol.toLowerCase()}//${host}${url.pathname}`;
}

/**
 * §3.4.1: METHOD & base URI & normalised parameters. `params` are the query's, a form
 * body's (never a JSON body's) and the oauth_* ones except oauth_signature, all raw
 * (not yet encoded); §3.4.1.3.2 sorts by encoded name, then encoded value.
 */
export function signatureBaseString(method: string, url: URL, params: Array<[string, string]>): string {
  const normalized = params
    .map(([k, v]) => [percentEncode(k), percentEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return [method.toUpperCase(), percentEncode(baseStringUri(url)), percentEncode(normalized)].join('&');
}

/** §3.4.2: key = encoded consumer secret & encoded token secret; base64 of the HMAC-SHA1. */
export function hmacSha1(baseString: string, consumerSecret: string, tokenSecret: string): string {
  return createHmac('sha1', `${percentEncode(consumerSecret)}&${percentEncode(tokenSecret)}`).update(baseString).digest('base64');
}

export interface SignOptions {
  method: string;
  url: string;
  /** Only for application/x-www-form-urlencoded bodies; a JSON body is not signed. */
  formParams?: Record<string, string>;
  /** Fixed in tests; random / now otherwise. */
  nonce?: string;
  timestamp?: number;
}

/** The oauth_* parameters of a request, oauth_signature included. */
export function oauth1Params(creds: OAuth1Credentials, opts: SignOptions): Record<string, string> {
  const url = new URL(opts.url);
  const oauth: Record<string, string> = {
    oauth_consumer_key: creds.consumerKey,
    oauth_nonce: opts.nonce ?? randomBytes(16).toString('hex'),
    oauth_signature_method: 'HMAC-SHA1',
    oauth_timestamp: String(opts.timestamp ?? Math.floor(Date.now() / 1000)),
    oauth_token: creds.token,
    oauth_version: '1.0',
  };
  const params: Array<[string, string]> = [...url.searchParams, ...Object.entries(opts.formParams ?? {}), ...Object.entries(oauth)];
  const base = signatureBaseString(opts.method, url, params);
  return { ...oauth, oauth_signature: hmacSha1(base, creds.consumerSecret, creds.tokenSecret) };
}

/** §3.5.1: `OAuth k="v", …`, values percent-encoded. */
export function oauth1Header(creds: OAuth1Credentials, opts: SignOptions): string {
  const params = oauth1Params(creds, opts);
  return 'OAuth ' + Object.entries(params).map(([k, v]) => `${percentEncode(k)}="${percentEncode(v)}"`).join(', ');
}

/** Reads an `Authorization: OAuth …` header back into its (decoded) parameters; undefined if it is not one. */
export function parseOAuth1Header(header: string | undefined): Record<string, string> | undefined {
  const m = /^OAuth\s+(.*)$/is.exec(header ?? '');
  if (!m) return undefined;
  const out: Record<string, string> = {};
  for (const part of m[1].split(',')) {
    const kv = /^\s*([^=\s]+)="([^"]*)"\s*$/.exec(part);
    if (!kv) return undefined;
    try {
      out[decodeURIComponent(kv[1])] = decodeURIComponent(kv[2]);
    } catch {
      return undefined;
    }
  }
  return out;
}
