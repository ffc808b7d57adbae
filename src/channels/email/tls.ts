import { isIP } from 'node:net';

export interface TlsTrust {
  /** Extra CA certificates (PEM) to trust besides the system's: a company's own mail server. */
  ca?: string;
}

/** TLS options for a channel's mail server: the deployment's extra CAs, and SNI for names (RFC 6066 forbids it for addresses). */
export function tlsOptions(host: string, trust: TlsTrust) {
  return { ...(trust.ca ? { ca: trust.ca } : {}), ...(isIP(host) ? {} : { servername: host }) };
}

/**
 * Node's codes for a certificate that cannot be trusted (self-signed, unknown issuer,
 * expired, issued for another name): a setting to fix, not an outage to wait out.
 */
export function isCertificateError(code: string | undefined): boolean {
  return code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code);
}
