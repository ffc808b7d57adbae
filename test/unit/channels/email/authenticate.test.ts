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
