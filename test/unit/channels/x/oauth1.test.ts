import { hmacSha1, oauth1Header, oauth1Params, parseOAuth1Header, percentEncode, signatureBaseString } from '../../../../src/channels/x/oauth1';

test("X's worked example (docs: OAuth 1.0a, creating a signature)", () => {
  const creds = {
    consumerKey: 'xvz1evFS4wEEPTGEFPHBog',
    consumerSecret: 'kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw',
    token: '370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb',
    tokenSecret: 'LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE',
  };
  const params = oauth1Params(creds, {
    method: 'POST',
    url: 'https://api.twitter.com/1.1/statuses/update.json?include_entities=true',
    formParams: { status: 'Hello Ladies + Gentlemen, a signed OAuth request!' },
    nonce: 'kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg',
    timestamp: 1318622958,
  });
  expect(params.oauth_signature).toBe('hCtSmYh+iHYCEqBWrE7C7hYmtUk=');
});

test('RFC 5849 §3.4.1.1: the signature base string, and the §3.1 signature', () => {
  const url = new URL('http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b');
  const params: Array<[string, string]> = [
    ...url.searchParams,
    ['c2', ''],
    ['a3', '2 q'],
    ['oauth_consumer_key', '9djdj82h48djs9d2'],
    ['oauth_token', 'kkk9d7dh3k39sjv7'],
    ['oauth_signature_method', 'HMAC-SHA1'],
    ['oauth_timestamp', '137131201'],
    ['oauth_nonce', '7d8f3e4a'],
  ];
  const base = signatureBaseString('POST', url, params);
  expect(base).toBe(
    'POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7',
  );
  expect(hmacSha1(base, 'j49sk3j29djd', 'dh893hdasih9')).toBe('r6/TJjbCOr97/+UU0NsvSne7s5g=');
});

test('RFC 5849 §1.2: the photos example, default port dropped', () => {
  const url = new URL('http://photos.example.net:80/photos?file=vacation.jpg&size=original');
  const base = signatureBaseString('GET', url, [
    ...url.searchParams,
    ['oauth_consumer_key', 'dpf43f3p2l4k3l03'],
    ['oauth_token', 'nnch734d00sl2jdk'],
    ['oauth_signature_method', 'HMAC-SHA1'],
    ['oauth_timestamp', '137131202'],
    ['oauth_nonce', 'chapoH'],
  ]);
  expect(hmacSha1(base, 'kd94hf93k423kf44', 'pfkkdhi9sl3r4s00')).toBe('MdpQcU8iPSUjWoN/UDMsK2sui9I=');
});

test("percent-encoding is RFC 3986's, not encodeURIComponent's", () => {
  expect(percentEncode("Ladies + Gentlemen!*'()")).toBe('Ladies%20%2B%20Gentlemen%21%2A%27%28%29');
  expect(percentEncode('-._~azAZ09')).toBe('-._~azAZ09');
  expect(percentEncode('☃')).toBe('%E2%98%83');
});

test('the header round-trips and a fresh nonce signs each request', () => {
  const creds = { consumerKey: 'ck', consumerSecret: 'cs', token: 't', tokenSecret: 'ts' };
  const opts = { method: 'GET', url: 'https://api.x.com/2/dm_events?dm_event.fields=id%2Ctext' };
  const a = parseOAuth1Header(oauth1Header(creds, opts))!;
  const b = parseOAuth1Header(oauth1Header(creds, opts))!;
  expect(a).toMatchObject({ oauth_consumer_key: 'ck', oauth_token: 't', oauth_signature_method: 'HMAC-SHA1', oauth_version: '1.0' });
  expect(a.oauth_nonce).not.toBe(b.oauth_nonce);
  const { oauth_signature, ...rest } = a;
  const url = new URL(opts.url);
  expect(hmacSha1(signatureBaseString('GET', url, [...url.searchParams, ...Object.entries(rest)]), 'cs', 'ts')).toBe(oauth_signature);
  expect(parseOAuth1Header('Bearer abc')).toBeUndefined();
});
