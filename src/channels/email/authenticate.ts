import { Resolver } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { authenticate, type AuthenticateResult, type DNSResolver } from 'mailauth';
import { getDomain } from 'tldts';
import { z } from 'zod';

/**
 * Who really sent a mail: SPF, DKIM and DMARC checked with mailauth, as a receiving mail
 * server would. PingBack reads mail after a mail server took it (from the mailbox, or posted
 * by a provider), so it has no SMTP session of its own:
 *
 * - DKIM needs none: a signature is checked against the mail's own bytes.
 * - SPF needs the address that delivered the mail. It is read from the newest Received
 *   header a server wrote about a connection from outside (hops inside a private network,
 *   an amavis or LMTP hand-off, are passed over), and only when that header names exactly one
 *   address the server saw (not one inside a HELO the sender chose). Otherwise SPF is not
 *   checked (`none`), since what the sender wrote into older headers proves nothing.
 *
 * The verdict the inbox shows: `pass` when DMARC passes, or, for a domain without a DMARC
 * policy, when a DKIM signature or SPF of the From domain's organisation passes; `fail` when
 * DMARC fails (or the mail names several From addresses, which DMARC cannot judge); `none`
 * when nothing proves the sender either way (no signature, no record, DNS unreachable).
 */
export const mailAuthSchema = z.object({
  verdict: z.enum(['pass', 'fail', 'none']),
  /** The From header's domain. */
  domain: z.string().max(255).nullable(),
  dmarc: z.string().max(20),
  /** The domain's DMARC policy for mail that fails it (`reject`, `quarantine`, `none`), when it has one. */
  policy: z.string().max(20).optional(),
  spf: z.string().max(20),
  /** `pass` only for a signature of the From domain's organisation: another domain's says nothing of the sender. */
  dkim: z.string().max(20),
});
export type MailAuth = z.infer<typeof mailAuthSchema>;

/** Each DNS query gets this long; past its budget (see bounded) every further one fails at once, so the check ends with what it has. */
const QUERY_TIMEOUT_MS = 2_000;
const DNS_BUDGET_MS = 5_000;
/** Past this the check is abandoned (`temperror`): a backstop, since the DNS budgets normally end it sooner. */
const CHECK_TIMEOUT_MS = 20_000;
/** Signatures checked per mail: each can cost a DNS query and a hash of the whole body; senders sign once or twice. */
const MAX_DKIM_SIGNATURES = 5;

/** A resolver for the given servers (`host` or `host:port`), or the system's when none are given. */
export function mailAuthResolver(servers?: readonly string[]): DNSResolver | undefined {
  if (!servers || servers.length === 0) return undefined;
  const resolver = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: 1 });
  resolver.setServers([...servers]);
  return (name, rrtype) => resolver.resolve(name, rrtype) as Promise<string[][] | string[]>;
}

const systemResolver = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: 1 });
const systemResolve: DNSResolver = (name, rrtype) => systemResolver.resolve(name, rrtype) as Promise<string[][] | string[]>;

/**
 * Every query within QUERY_TIMEOUT_MS, and none past its budget. DKIM keys, SPF records and the
 * DMARC policy each have their own budget, from their first query: a sender whose own DNS is
 * slow (the domain of its signature, of its envelope) cannot use up the time the From domain's
 * DMARC policy needs, so a forgery is still judged by it.
 */
function bounded(resolve: DNSResolver, budgetMs: number): DNSResolver {
  const deadlines = new Map<string, number>();
  const timedOut = (name: string) => Object.assign(new Error(`DNS query for ${name} timed out`), { code: 'ETIMEOUT' });
  return (name, rrtype) => {
    const kind = name.includes('._domainkey.') ? 'dkim' : name.startsWith('_dmarc.') ? 'dmarc' : 'spf';
    if (!deadlines.has(kind)) deadlines.set(kind, Date.now() + budgetMs);
    const left = Math.min(QUERY_TIMEOUT_MS, deadlines.get(kind)! - Date.now());
    if (left <= 0) return Promise.reject(timedOut(name));
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([resolve(name, rrtype), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(timedOut(name)), left)))]).finally(() => clearTimeout(timer));
  };
}

export async function authenticateMail(raw: Buffer, opts: { resolver?: DNSResolver; timeoutMs?: number; dnsBudgetMs?: number } = {}): Promise<MailAuth> {
  const { headers, mail } = withFewSignatures(raw);
  const client = deliveringClient(headers);
  const resolver = bounded(opts.resolver ?? systemResolve, opts.dnsBudgetMs ?? DNS_BUDGET_MS);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), opts.timeoutMs ?? CHECK_TIMEOUT_MS)));
  try {
    const result = await Promise.race([
      // No trustReceived: mailauth would take the first bracketed address of any Received header (see deliveringClient).
      authenticate(mail, { ...(client ? { ip: client.ip, ...(client.helo ? { helo: client.helo } : {}), ...(client.sender ? { sender: client.sender } : {}) } : {}), disableArc: true, disableBimi: true, resolver }),
      timeout,
    ]);
    return result === 'timeout' ? unverified('temperror') : verdictOf(result, Boolean(client));
  } catch {
    return unverified('temperror');
  } finally {
    clearTimeout(timer);
  }
}

const unverified = (why: string): MailAuth => ({ verdict: 'none', domain: null, dmarc: why, spf: why, dkim: why });

/** The header block, unfolded into fields (name lower-cased), and where it ends in the raw mail. */
function headerFields(raw: Buffer): { fields: Array<{ name: string; value: string; start: number; end: number }>; bodyAt: number } {
  const text = raw.toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  const headEnd = m ? m.index : text.length;
  const fields: Array<{ name: string; value: string; start: number; end: number }> = [];
  const re = /^([!-9;-~]+):([^\n]*(?:\n[ \t][^\n]*)*)\n?/gm;
  const head = text.slice(0, headEnd + 1);
  for (let f = re.exec(head); f; f = re.exec(head)) {
    fields.push({ name: f[1].toLowerCase(), value: f[2].replace(/\r?\n[ \t]/g, ' ').replace(/\r$/, '').trim(), start: f.index, end: f.index + f[0].length });
  }
  return { fields, bodyAt: headEnd };
}

/** The mail with at most MAX_DKIM_SIGNATURES signatures (the first ones: the newest added), and its header fields. */
function withFewSignatures(raw: Buffer): { headers: ReturnType<typeof headerFields>['fields']; mail: Buffer } {
  const { fields } = headerFields(raw);
  const extra = fields.filter((f) => f.name === 'dkim-signature').slice(MAX_DKIM_SIGNATURES);
  if (extra.length === 0) return { headers: fields, mail: raw };
  const parts: Buffer[] = [];
  let at = 0;
  for (const f of extra) {
    parts.push(raw.subarray(at, f.start));
    at = f.end;
  }
  parts.push(raw.subarray(at));
  return { headers: fields.filter((f) => !extra.includes(f)), mail: Buffer.concat(parts) };
}

/** Addresses of a receiving network's own hops. */
const INTERNAL_RANGES = new Set(['private', 'loopback', 'linkLocal', 'uniqueLocal', 'carrierGradeNat', 'unspecified']);

/**
 * The SMTP client that handed the mail to the receiving side, as the newest Received header
 * about a connection from a public address says: its address (the one the server saw, in
 * brackets, outside any HELO the client chose), its HELO name, and the envelope sender from
 * the newest Return-Path. Undefined when that header is missing or ambiguous.
 */
function deliveringClient(fields: ReturnType<typeof headerFields>['fields']): { ip: string; helo?: string; sender?: string } | undefined {
  const returnPath = fields.find((f) => f.name === 'return-path')?.value.replace(/[<>\s]/g, '') || undefined;
  for (const f of fields.filter((x) => x.name === 'received')) {
    const from = /^from\s+(.*?)\s+by\s/is.exec(f.value);
    if (!from) return undefined; // the newest hop says nothing of where the mail came from
    // What the client said of itself (Exim's helo=…, qmail's (HELO …)) is not what the server saw.
    const seen = from[1].replace(/helo=\S+/gi, '').replace(/\(HELO [^)]*\)/gi, '');
    const ips = new Set([...seen.matchAll(/\[(?:IPv6:)?([0-9a-fA-F:.]+)\]/g)].map((x) => x[1]).filter((ip) => ipaddr.isValid(ip)));
    if (ips.size !== 1) return undefined;
    const ip = [...ips][0];
    const parsed = ipaddr.process(ip);
    // A hop inside the receiving network (a content filter, LMTP): the one before it delivered the mail.
    if (INTERNAL_RANGES.has(parsed.range())) continue;
    const token = from[1].split(/\s/)[0];
    return { ip: parsed.toString(), ...(token && !token.startsWith('[') ? { helo: token } : {}), ...(returnPath?.includes('@') ? { sender: returnPath } : {}) };
  }
  return undefined;
}

/** The same organisation (RFC 7489's relaxed alignment, by the public suffix list). */
const aligned = (a: string | undefined, b: string | null) => {
  if (!a || !b) return false;
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  return x === y || (getDomain(x) ?? x) === (getDomain(y) ?? y);
};

function verdictOf(r: AuthenticateResult, spfChecked: boolean): MailAuth {
  const froms = r.dkim.headerFrom ?? [];
  const fromDomain = froms.length === 1 ? (froms[0].split('@').pop()?.toLowerCase() ?? null) : null;
  const dkimAligned = r.dkim.results.some((d) => d.status?.result === 'pass' && aligned(d.signingDomain, fromDomain));
  const firstOther = r.dkim.results.find((d) => d.status?.result !== 'pass')?.status?.result;
  const dkim = dkimAligned ? 'pass' : (firstOther ?? 'none');
  const spf = !spfChecked ? 'none' : r.spf ? r.spf.status.result : 'none';
  const dmarc = r.dmarc ? r.dmarc.status.result : 'none';
  const policy = r.dmarc && r.dmarc.policy ? r.dmarc.policy.trim().toLowerCase().slice(0, 20) : undefined;
  const base = { domain: fromDomain?.slice(0, 255) ?? null, ...(policy ? { policy } : {}), spf: spf.slice(0, 20), dkim: dkim.slice(0, 20) };
  // Several From addresses (or none): DMARC cannot say which one is vouched for, and the inbox shows the first.
  if (froms.length !== 1) return { verdict: 'fail', ...base, dmarc: 'permerror' };
  if (dmarc === 'pass') return { verdict: 'pass', ...base, dmarc };
  if (dmarc === 'fail') return { verdict: 'fail', ...base, dmarc };
  const spfAligned = spf === 'pass' && r.spf && aligned(r.spf.domain, fromDomain);
  return { verdict: dkimAligned || spfAligned ? 'pass' : 'none', ...base, dmarc };
}

/**
 * Whether a channel that refuses DMARC failures refuses this mail: where the domain asks
 * receivers to (quarantine or reject), and mail naming several senders, which DMARC cannot vouch for.
 */
export const refusedByDmarc = (auth: MailAuth): boolean =>
  auth.verdict === 'fail' && (auth.dmarc === 'permerror' || auth.policy === 'reject' || auth.policy === 'quarantine');
