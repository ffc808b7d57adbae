import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { PlatformError } from '../platform-error';
import type { AdapterContext } from '../types';

/**
 * How PingBack may reach a channel's mail servers. Tenants type the SMTP and IMAP hosts
 * themselves, and both the worker and the api connect to them: without a rule, a host of
 * `10.0.0.5`, `localhost` or `169.254.169.254` would turn a channel into a port scanner of
 * PingBack's own network. So only public unicast addresses are connected to, checked after DNS
 * resolution and then connected to by address (a name that resolves differently a moment later
 * changes nothing), unless the operator allowed the host (EMAIL_ALLOWED_HOSTS: a self-hosted
 * mail server on the same network, the tests' local one).
 */
export interface MailServerPolicy {
  /** Extra CA certificates (PEM) trusted besides Node's own list: a company's own mail server. */
  ca?: string;
  /** Host names, addresses and CIDR ranges PingBack may connect to although they are not public. */
  allowedHosts?: readonly string[];
}

export const mailServerPolicy = (ctx: AdapterContext): MailServerPolicy => ({ ca: ctx.emailTlsCa, allowedHosts: ctx.emailAllowedHosts });

/**
 * The address to connect to for `host`, or a PlatformError: `auth` (the channel's settings must
 * change) for a host that is not public, `unavailable` when DNS does not answer. The message
 * names the host the tenant typed, never an address it resolved to.
 */
export async function mailServerAddress(host: string, policy: MailServerPolicy, protocol: 'SMTP' | 'IMAP'): Promise<string> {
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch (err) {
      // Retried, as a DNS outage would be: a name that never resolves fails the reply after its retries.
      const code = (err as { code?: string }).code;
      throw new PlatformError('unavailable', `${protocol} server ${host} could not be looked up (${code ?? 'DNS error'})`, { platformCode: code });
    }
  }
  const allowed = policy.allowedHosts ?? [];
  const allowedName = allowed.some((a) => a.toLowerCase() === host.toLowerCase());
  for (const address of addresses) {
    if (!allowedName && !isPublic(address) && !allowed.some((rule) => matches(rule, address))) {
      throw new PlatformError(
        'auth',
        `${protocol} server ${host} is not at a public address; PingBack connects only to public mail servers (an operator can allow this one with EMAIL_ALLOWED_HOSTS)`,
        { platformCode: 'ADDRESS_NOT_ALLOWED' },
      );
    }
  }
  // IPv4 first where there is one: a server listening on one family only is more often v4-only.
  return addresses.find((a) => isIP(a) === 4) ?? addresses[0];
}

/** Unicast on the public internet: not loopback, private, link-local (cloud metadata), CGNAT, multicast, reserved … */
function isPublic(address: string): boolean {
  return ipaddr.process(address).range() === 'unicast';
}

function matches(rule: string, address: string): boolean {
  const addr = ipaddr.process(address);
  try {
    if (rule.includes('/')) {
      const [net, bits] = ipaddr.parseCIDR(rule);
      return addr.kind() === net.kind() && addr.match([net, bits] as [typeof addr, number]);
    }
    return ipaddr.isValid(rule) && ipaddr.process(rule).toString() === addr.toString();
  } catch {
    return false;
  }
}

/** A socket error's words without the address and port it names (`connect ECONNREFUSED 10.0.0.5:25`). */
export function withoutAddresses(message: string): string {
  return message
    .replace(/\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b/g, '')
    .replace(/\[?\b(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}\]?(?::\d+)?/gi, '')
    .replace(/\s+/g, ' ')
    .trim();
}
