import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';

export interface TlsTrust {
  /** Extra CA certificates (PEM) to trust besides Node's own list: a company's own mail server. */
  ca?: string;
}

/**
 * TLS options for a channel's mail server: Node's CA list plus the deployment's (Node's `ca`
 * replaces its list rather than adding to it), and SNI for names (RFC 6066 forbids it for addresses).
 */
export function tlsOptions(host: string, trust: TlsTrust) {
  return { ...(trust.ca ? { ca: [...rootCertificates, trust.ca] } : {}), ...(isIP(host) ? {} : { servername: host }) };
}

/**
 * Node's codes for a certificate that cannot be trusted (self-signed, unknown issuer,
 * expired, issued for another name): a setting to fix, not an outage to wait out.
 */
export function isCertificateError(code: string | undefined): boolean {
  return code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code);
}
