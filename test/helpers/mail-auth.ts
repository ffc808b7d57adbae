import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth';

/**
 * A sending domain as the internet knows it: its DKIM key, SPF and DMARC records, answered
 * by `resolver` (mailauth's resolver shape) or by a DNS server (./dns-server.ts) built on it.
 */
export interface SendingDomain {
  domain: string;
  selector: string;
  privateKey: string;
  records: Record<string, string[][]>;
}

export function sendingDomain(domain: string, opts: { spfIp?: string; dmarc?: 'reject' | 'quarantine' | 'none' | false } = {}): SendingDomain {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const selector = 's1';
  const der = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const records: Record<string, string[][]> = {
    [`${selector}._domainkey.${domain}`]: [[`v=DKIM1; k=rsa; p=${der}`]],
    [domain]: [[`v=spf1 ip4:${opts.spfIp ?? '203.0.113.5'} -all`]],
  };
  if (opts.dmarc !== false) records[`_dmarc.${domain}`] = [[`v=DMARC1; p=${opts.dmarc ?? 'reject'}`]];
  return { domain, selector, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), records };
}

/** mailauth's resolver over the domains' records: TXT answered, anything else not found. */
export function resolverFor(...domains: SendingDomain[]) {
  const all = Object.assign({}, ...domains.map((d) => d.records)) as Record<string, string[][]>;
  return async (name: string, rrtype: string) => {
    const hit = rrtype === 'TXT' ? all[name.toLowerCase()] : undefined;
    if (!hit) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return hit;
  };
}

/**
 * A mail as the receiving server left it: its Received header naming the client address,
 * Return-Path the envelope sender, and (with `sign`) the sending domain's DKIM signature.
 */
export async function receivedMail(opts: {
  from: string;
  clientIp?: string;
  sign?: SendingDomain;
  body?: string;
  messageId?: string;
  /** The From header's value as written, for a mail naming several senders. */
  fromHeader?: string;
  /** The receiving server's Received header in place of the usual one (Exim's format, a hop without `from`). */
  received?: string;
  /** Received headers the receiving side added after its MX (a content filter, LMTP): newest first, above the MX's. */
  internalHops?: string[];
  /** Headers the sender wrote themselves, under the receiving server's: a forged Received claiming an SPF address. */
  senderHeaders?: string[];
  returnPath?: string;
}): Promise<Buffer> {
  const senderDomain = opts.from.split('@')[1];
  const message = [
    ...(opts.senderHeaders ?? []),
    `From: ${opts.fromHeader ?? `Customer <${opts.from}>`}`,
    'To: support@shop.example',
    `Subject: Where is my order?`,
    `Message-ID: <${opts.messageId ?? `${Date.now()}.${Math.random().toString(36).slice(2)}`}@${senderDomain}>`,
    'Date: Sat, 05 Dec 2026 10:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    opts.body ?? 'Hello, my order has not arrived.',
    '',
  ].join('\r\n');
  const signature = opts.sign ? (await dkimSign(message, { signatureData: [{ signingDomain: opts.sign.domain, selector: opts.sign.selector, privateKey: opts.sign.privateKey }] } as never)).signatures : '';
  const trace = [
    `Return-Path: <${opts.returnPath ?? opts.from}>`,
    ...(opts.internalHops ?? []),
    opts.received ??
      `Received: from mail.${senderDomain} (mail.${senderDomain} [${opts.clientIp ?? '203.0.113.5'}]) by mx.shop.example with ESMTPS id abc123 for <support@shop.example>; Sat, 05 Dec 2026 10:00:01 +0000`,
  ].join('\r\n');
  return Buffer.from(`${trace}\r\n${signature}${message}`);
}
