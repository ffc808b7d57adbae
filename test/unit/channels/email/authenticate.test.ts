import { dkimSign } from 'mailauth';
import { authenticateMail, mailAuthResolver, refusedByDmarc } from '../../../../src/channels/email/authenticate';
import { startDnsServer } from '../../../helpers/dns-server';
import { receivedMail, resolverFor, sendingDomain } from '../../../helpers/mail-auth';

const shop = sendingDomain('customer.example');
const lax = sendingDomain('lax.example', { dmarc: false });
const resolver = resolverFor(shop, lax);

test('a mail signed by its From domain and sent from its SPF address passes', async () => {
  const auth = await authenticateMail(await receivedMail({ from: 'ann@customer.example', sign: shop }), { resolver });
  expect(auth).toEqual({ verdict: 'pass', domain: 'customer.example', dmarc: 'pass', policy: 'reject', spf: 'pass', dkim: 'pass' });
  expect(refusedByDmarc(auth)).toBe(false);
});

test('a forged From (unsigned, from another address) fails DMARC, and a refusing channel refuses it', async () => {
  const auth = await authenticateMail(await receivedMail({ from: 'ceo@customer.example', clientIp: '198.51.100.66' }), { resolver });
  expect(auth).toMatchObject({ verdict: 'fail', dmarc: 'fail', policy: 'reject', spf: 'fail', dkim: 'none' });
  expect(refusedByDmarc(auth)).toBe(true);
});

test('a body changed after signing breaks DKIM', async () => {
  const mail = (await receivedMail({ from: 'ann@customer.example', sign: shop, clientIp: '198.51.100.66' })).toString().replace('has not arrived', 'has arrived');
  const auth = await authenticateMail(Buffer.from(mail), { resolver });
  expect(auth).toMatchObject({ verdict: 'fail', dmarc: 'fail' });
  expect(auth.dkim).not.toBe('pass'); // mailauth says neutral for a body that no longer matches its hash
});

test('a domain without DMARC: an aligned DKIM signature verifies the sender, nothing at all leaves it unverified', async () => {
  expect(await authenticateMail(await receivedMail({ from: 'bo@lax.example', sign: lax, clientIp: '198.51.100.66' }), { resolver })).toMatchObject({ verdict: 'pass', dmarc: 'none', dkim: 'pass' });
  const unsigned = await authenticateMail(await receivedMail({ from: 'bo@lax.example', clientIp: '198.51.100.66' }), { resolver });
  expect(unsigned).toMatchObject({ verdict: 'none', dmarc: 'none' });
  expect(refusedByDmarc(unsigned)).toBe(false);
});

test('DNS that never answers is a temporary error within the time limit, not a hang', async () => {
  const started = Date.now();
  const auth = await authenticateMail(await receivedMail({ from: 'ann@customer.example', sign: shop }), { resolver: () => new Promise(() => undefined), timeoutMs: 300 });
  expect(auth).toEqual({ verdict: 'none', domain: null, dmarc: 'temperror', spf: 'temperror', dkim: 'temperror' });
  expect(Date.now() - started).toBeLessThan(5000);
});

test('over a real DNS server (MAIL_AUTH_DNS_SERVERS), a key longer than one TXT string still verifies', async () => {
  const dns = await startDnsServer(shop);
  try {
    const auth = await authenticateMail(await receivedMail({ from: 'ann@customer.example', sign: shop }), { resolver: mailAuthResolver([dns.address]) });
    expect(auth).toMatchObject({ verdict: 'pass', dkim: 'pass', spf: 'pass', dmarc: 'pass' });
  } finally {
    await dns.stop();
  }
});

describe('where the sending address comes from', () => {
  const forgedBelow = 'Received: from mail.customer.example (mail.customer.example [203.0.113.5]) by relay.customer.example; Sat, 05 Dec 2026 09:59:00 +0000';

  test("a Received header the sender wrote under the server's is not believed", async () => {
    const auth = await authenticateMail(await receivedMail({ from: 'ceo@customer.example', clientIp: '198.51.100.66', senderHeaders: [forgedBelow] }), { resolver });
    expect(auth).toMatchObject({ verdict: 'fail', spf: 'fail', dmarc: 'fail' });
    // Even when the newest hop names no client at all: older headers are the sender's to write.
    const received = 'Received: by mx.shop.example (Postfix, from userid 0); Sat, 05 Dec 2026 10:00:01 +0000';
    const quiet = await authenticateMail(await receivedMail({ from: 'ceo@customer.example', received, senderHeaders: [forgedBelow] }), { resolver });
    expect(quiet).toMatchObject({ verdict: 'fail', spf: 'none', dmarc: 'fail' });
  });

  test("a HELO naming an SPF address (Exim's helo=[…]) is not the address the server saw", async () => {
    const received = 'Received: from [198.51.100.66] (port=4711 helo=[203.0.113.5]) by mx.shop.example with esmtp id 1; Sat, 05 Dec 2026 10:00:01 +0000';
    expect(await authenticateMail(await receivedMail({ from: 'ceo@customer.example', received }), { resolver })).toMatchObject({ verdict: 'fail', spf: 'fail' });
    // Two addresses in the newest hop's from-clause: which the server saw cannot be told, so SPF is not checked.
    const twice = 'Received: from x (y [203.0.113.5]) (rdns.example [198.51.100.66]) by mx.shop.example; Sat, 05 Dec 2026 10:00:01 +0000';
    expect(await authenticateMail(await receivedMail({ from: 'ceo@customer.example', received: twice }), { resolver })).toMatchObject({ verdict: 'fail', spf: 'none' });
  });

  test("hops inside the receiving network (a content filter, LMTP) are passed over to the MX's", async () => {
    const internalHops = [
      'Received: from localhost (localhost [127.0.0.1]) by mx.shop.example (amavis); Sat, 05 Dec 2026 10:00:02 +0000',
      'Received: from mx.shop.example (mx.shop.example [10.0.0.7]) by store.shop.example with LMTP; Sat, 05 Dec 2026 10:00:02 +0000',
    ];
    // Not signed: SPF of the address the MX saw carries DMARC alone.
    const auth = await authenticateMail(await receivedMail({ from: 'ann@customer.example', internalHops }), { resolver });
    expect(auth).toMatchObject({ verdict: 'pass', spf: 'pass', dmarc: 'pass' });
  });

  test('a newest hop that says nothing of where the mail came from leaves SPF unchecked', async () => {
    const received = 'Received: by mx.shop.example (Postfix, from userid 0); Sat, 05 Dec 2026 10:00:01 +0000';
    expect(await authenticateMail(await receivedMail({ from: 'ann@customer.example', sign: shop, received }), { resolver })).toMatchObject({ verdict: 'pass', spf: 'none', dkim: 'pass' });
  });
});

test('a mail naming two senders fails (DMARC cannot vouch for either), and a refusing channel refuses it', async () => {
  const auth = await authenticateMail(await receivedMail({ from: 'ceo@customer.example', fromHeader: 'ceo@customer.example, x@evil.example', sign: shop }), { resolver });
  expect(auth).toMatchObject({ verdict: 'fail', dmarc: 'permerror' });
  expect(refusedByDmarc(auth)).toBe(true);
});

test('a policy written in capitals is the same policy', async () => {
  const loud = sendingDomain('loud.example');
  loud.records['_dmarc.loud.example'] = [['v=DMARC1; p=REJECT']];
  const auth = await authenticateMail(await receivedMail({ from: 'x@loud.example', clientIp: '198.51.100.66' }), { resolver: resolverFor(loud) });
  expect(auth).toMatchObject({ verdict: 'fail', policy: 'reject' });
  expect(refusedByDmarc(auth)).toBe(true);
});

test("a forger's slow DNS (its own signature's key, its envelope's SPF) cannot keep the From domain's policy from judging it", async () => {
  const slow = sendingDomain('slow.example');
  const never = new Set(['s1._domainkey.slow.example', 'slow.example']);
  const answer = resolverFor(shop);
  const slowResolver = (name: string, rrtype: string) => (never.has(name) ? new Promise<never>(() => undefined) : answer(name, rrtype));
  const started = Date.now();
  const mail = await receivedMail({ from: 'ceo@customer.example', sign: slow, clientIp: '198.51.100.66', returnPath: 'bounce@slow.example' });
  const auth = await authenticateMail(mail, { resolver: slowResolver, dnsBudgetMs: 500 });
  expect(auth).toMatchObject({ verdict: 'fail', dmarc: 'fail', policy: 'reject' });
  expect(refusedByDmarc(auth)).toBe(true);
  expect(Date.now() - started).toBeLessThan(5_000);
});

test('a mail with dozens of signatures has only its first few checked', async () => {
  const signed = (await receivedMail({ from: 'ann@customer.example', sign: shop })).toString();
  const sig = /DKIM-Signature:[^\n]*(?:\n[ \t][^\n]*)*\n/.exec(signed)![0];
  let lookups = 0;
  const counting = (name: string, rrtype: string) => (name.includes('_domainkey') && lookups++, resolver(name, rrtype));
  const many = signed.replace(sig, sig.repeat(40));
  const auth = await authenticateMail(Buffer.from(many), { resolver: counting });
  expect(auth.verdict).toBe('pass');
  expect(lookups).toBeLessThanOrEqual(5);
});

test("mailauth writes nothing to stdout for a signature whose l= does not match the body (patches/mailauth+…)", async () => {
  const head = 'From: ann@customer.example\r\nTo: support@shop.example\r\nSubject: hi\r\n\r\n';
  const { signatures } = await dkimSign(`${head}a body long enough to be cut\r\n`, { signatureData: [{ signingDomain: 'customer.example', selector: shop.selector, privateKey: shop.privateKey, maxBodyLength: 20 }] } as never);
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    // Cut below its l=20 after signing.
    await authenticateMail(Buffer.from(`${signatures}${head}a body\r\n`), { resolver });
    expect(log).not.toHaveBeenCalled();
  } finally {
    log.mockRestore();
  }
});
