import { Resolver } from 'node:dns/promises';
import { authenticate, type AuthenticateResult, type DNSResolver } from 'mailauth';
import { z } from 'zod';

/**
 * Who really sent a mail: SPF, DKIM and DMARC checked with mailauth, as a receiving mail
 * server would. PingBack reads mail after a mail server took it (from the mailbox, or posted
 * by a provider), so the client address and envelope sender come from the newest Received
 * header and Return-Path, which that server wrote.
 *
 * The verdict the inbox shows: `pass` when DMARC passes, or, for a domain without a DMARC
 * policy, when a DKIM signature or SPF of the From domain (or its parent) passes; `fail` when
 * DMARC fails; `none` when nothing proves the sender either way (no signature, no record, DNS
 * unreachable): shown as not verified.
 */
export const mailAuthSchema = z.object({
  verdict: z.enum(['pass', 'fail', 'none']),
  /** The From header's domain. */
  domain: z.string().max(255).nullable(),
  dmarc: z.string().max(20),
  /** The domain's DMARC policy for mail that fails it (`reject`, `quarantine`, `none`), when it has one. */
  policy: z.string().max(20).optional(),
  spf: z.string().max(20),
  dkim: z.string().max(20),
});
export type MailAuth = z.infer<typeof mailAuthSchema>;

/** Past this a check gives up (`temperror`): DNS that hangs must not hold a mail or a webhook request. */
const CHECK_TIMEOUT_MS = 10_000;

/** A resolver for the given servers (`host` or `host:port`), or the system's when none are given. */
export function mailAuthResolver(servers?: readonly string[]): DNSResolver | undefined {
  if (!servers || servers.length === 0) return undefined;
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  resolver.setServers([...servers]);
  return (name, rrtype) => resolver.resolve(name, rrtype) as Promise<string[][] | string[]>;
}

export async function authenticateMail(raw: Buffer, opts: { resolver?: DNSResolver; timeoutMs?: number } = {}): Promise<MailAuth> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), opts.timeoutMs ?? CHECK_TIMEOUT_MS)));
  try {
    const result = await Promise.race([
      authenticate(raw, { trustReceived: true, disableArc: true, disableBimi: true, ...(opts.resolver ? { resolver: opts.resolver } : {}) }),
      timeout,
    ]);
    return result === 'timeout' ? unverified('temperror') : verdictOf(result);
  } catch {
    return unverified('temperror');
  } finally {
    clearTimeout(timer);
  }
}

const unverified = (why: string): MailAuth => ({ verdict: 'none', domain: null, dmarc: why, spf: why, dkim: why });

/** Relaxed alignment (RFC 7489 3.1): the same domain, or one a subdomain of the other's organisational domain (approximated by suffix). */
const aligned = (a: string | undefined, b: string | null) => {
  if (!a || !b) return false;
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  return x === y || x.endsWith(`.${y}`) || y.endsWith(`.${x}`);
};

function verdictOf(r: AuthenticateResult): MailAuth {
  const fromDomain = r.dkim.headerFrom?.[0]?.split('@').pop()?.toLowerCase() ?? null;
  const dkimPass = r.dkim.results.filter((d) => d.status?.result === 'pass');
  const dkim = dkimPass.length > 0 ? 'pass' : (r.dkim.results[0]?.status?.result ?? 'none');
  const spf = r.spf ? r.spf.status.result : 'none';
  const dmarc = r.dmarc ? r.dmarc.status.result : 'none';
  const policy = r.dmarc && r.dmarc.policy ? r.dmarc.policy : undefined;
  let verdict: MailAuth['verdict'] = 'none';
  if (dmarc === 'pass') verdict = 'pass';
  else if (dmarc === 'fail') verdict = 'fail';
  else if (dkimPass.some((d) => aligned(d.signingDomain, fromDomain)) || (spf === 'pass' && r.spf && aligned(r.spf.domain, fromDomain))) verdict = 'pass';
  return { verdict, domain: fromDomain?.slice(0, 255) ?? null, dmarc, ...(policy ? { policy: policy.slice(0, 20) } : {}), spf: spf.slice(0, 20), dkim: dkim.slice(0, 20) };
}

/** Whether a channel that refuses DMARC failures refuses this mail: only where the domain asks receivers to (quarantine or reject). */
export const refusedByDmarc = (auth: MailAuth): boolean => auth.verdict === 'fail' && (auth.policy === 'reject' || auth.policy === 'quarantine');
