import { createHmac } from 'node:crypto';
import { classifyGraphError, describeMetaError, META_ERROR_RULES } from '../../../../src/channels/meta/errors';
import { answerVerification, signMetaPayload, verifyMetaSignature } from '../../../../src/channels/meta/signature';
import { metaJson } from '../../../../src/sandbox/meta-payloads';
import { fixtureFiles } from '../../../helpers/fixtures';

/** What each recorded Meta error must become: the table in src/channels/meta/errors.ts, held to the fixtures. */
const expected: Record<string, { kind: string; retryable: boolean }> = {
  'whatsapp/error-100-invalid-parameter.json': { kind: 'rejected', retryable: false },
  'whatsapp/error-130429-throughput.json': { kind: 'rate_limited', retryable: true },
  'whatsapp/error-131047-reengagement.json': { kind: 'rejected', retryable: false },
  'whatsapp/error-131056-pair-rate-limit.json': { kind: 'rate_limited', retryable: true },
  'whatsapp/error-190-token-expired.json': { kind: 'auth', retryable: false },
  'instagram/send-error-outside-window.json': { kind: 'rejected', retryable: false },
  'instagram/send-error-user-unavailable.json': { kind: 'rejected', retryable: false },
};
const responses = [
  ...fixtureFiles('whatsapp', 'error-').filter((f) => f.body.status).map((f) => [`whatsapp/${f.name}`, f.body] as const),
  ...fixtureFiles('instagram', 'send-error-').map((f) => [`instagram/${f.name}`, f.body] as const),
];

describe('every Meta error fixture is classified as the table says', () => {
  test('every fixture has an expectation', () => {
    expect(responses.map(([name]) => name).sort()).toEqual(Object.keys(expected).sort());
  });

  test.each(responses)('%s', (name, { status, body }) => {
    const err = classifyGraphError(status, body);
    expect({ kind: err.kind, retryable: err.retryable }).toEqual(expected[name]);
    // The agent sees Meta's words (with the code where Meta's message lacks it), then the details sentence.
    const withCode = body.error.message.startsWith('(#') ? body.error.message : `(#${body.error.code}) ${body.error.message}`;
    expect(err.message.startsWith(withCode)).toBe(true);
    if (body.error.error_data?.details) expect(err.message).toContain(body.error.error_data.details);
    expect(err.details.status).toBe(status);
  });
});

test('the 24-hour window says what the agent can do, in both platforms\' words', () => {
  const [wa] = fixtureFiles('whatsapp', 'error-131047-reengagement');
  expect(classifyGraphError(400, wa.body.body).message).toBe(
    '(#131047) Re-engagement message: Message failed to send because more than 24 hours have passed since the customer last replied to this number.' +
      ' — the customer has not written in the last 24 hours; a free-form reply is possible once they write again (or send an approved template)',
  );
  const [ig] = fixtureFiles('instagram', 'send-error-outside-window');
  expect(classifyGraphError(400, ig.body.body).message).toMatch(/^\(#10\) This message is sent outside of allowed window\. — the customer has not written/);
  expect(classifyGraphError(400, ig.body.body).details.platformCode).toBe('10/2018278');
  // Code 10 without the window subcode is a permission problem.
  expect(classifyGraphError(403, { error: { code: 10, message: '(#10) Permission denied' } }).kind).toBe('auth');
});

test('the webhook errors[] entry (a failed status) reads the same way', () => {
  const [entry] = fixtureFiles('whatsapp', 'error-131047-webhook-errors-entry');
  expect(describeMetaError(entry.body)).toMatch(/^\(#131047\) Re-engagement message: Message failed to send because more than 24 hours/);
});

test.each([
  [4, 'rate_limited'],
  [80007, 'rate_limited'],
  [130429, 'rate_limited'],
  [131056, 'rate_limited'],
  [131047, 'rejected'],
  [190, 'auth'],
  [100, 'rejected'],
  [131000, 'unavailable'],
  [250, 'auth'],
])('code %i → %s', (code, kind) => {
  expect(classifyGraphError(400, { error: { code, message: `(#${code}) x` } }).kind).toBe(kind);
});

test('5xx, transient and non-Meta answers retry; the pair rate limit waits its pace', () => {
  expect(classifyGraphError(502, undefined).kind).toBe('unavailable');
  expect(classifyGraphError(500, { error: { code: 99999, message: 'x' } }).kind).toBe('unavailable');
  expect(classifyGraphError(400, { error: { code: 99999, message: 'x', is_transient: true } }).kind).toBe('unavailable');
  expect(classifyGraphError(400, { error: { code: 99999, message: 'x' } }).kind).toBe('rejected');
  expect(classifyGraphError(400, { error: { code: 131056, message: 'x' } }).details.retryAfterMs).toBe(6000);
  expect(classifyGraphError(400, { error: { code: 130429, message: 'x' } }).details.retryAfterMs).toBeUndefined();
});

test('every rule names the doc it came from', () => {
  for (const r of META_ERROR_RULES) expect(r.doc).toMatch(/^developers\.facebook\.com\//);
});

describe('X-Hub-Signature-256', () => {
  const secret = 'f00dfeedcafe0123456789abcdef0123';
  // Meta signs its own serialisation: non-ASCII escaped, slashes escaped.
  const payload = { entry: [{ messaging: [{ message: { text: 'Grüße 👋 https://x.example/a' } }] }] };
  const raw = Buffer.from(metaJson(payload));

  test('the raw bytes are what Meta sends: escaped unicode and slashes', () => {
    expect(raw.toString()).toContain('Gr\\u00fc\\u00dfe \\ud83d\\udc4b https:\\/\\/x.example\\/a');
    expect(JSON.parse(raw.toString())).toEqual(payload);
  });

  test('good signature over the raw bytes passes', () => {
    const header = `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
    expect(signMetaPayload(raw, secret)).toBe(header);
    expect(verifyMetaSignature(raw, header, secret)).toBe(true);
    expect(verifyMetaSignature(raw, header.toUpperCase().replace('SHA256=', 'sha256='), secret)).toBe(true);
  });

  test('re-serialised JSON does not match what Meta signed', () => {
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString())));
    expect(reserialised.equals(raw)).toBe(false);
    expect(verifyMetaSignature(reserialised, signMetaPayload(raw, secret), secret)).toBe(false);
  });

  test.each([
    ['missing', undefined],
    ['empty', ''],
    ['sha1 only', `sha1=${createHmac('sha1', secret).update(raw).digest('hex')}`],
    ['another secret', signMetaPayload(raw, 'another-secret')],
    ['truncated', signMetaPayload(raw, secret).slice(0, -2)],
    ['not hex', `sha256=${'z'.repeat(64)}`],
  ])('%s is refused', (_why, header) => {
    expect(verifyMetaSignature(raw, header, secret)).toBe(false);
  });

  test('a changed byte is refused; an empty app secret never verifies', () => {
    const tampered = Buffer.from(raw);
    tampered[tampered.length - 3] ^= 1;
    expect(verifyMetaSignature(tampered, signMetaPayload(raw, secret), secret)).toBe(false);
    expect(verifyMetaSignature(raw, signMetaPayload(raw, ''), '')).toBe(false);
  });
});

describe('verification handshake', () => {
  const [{ body: fixture }] = fixtureFiles('whatsapp', 'webhook-verification-request');
  const mine = (t: string) => t === 'meatyhamhock';

  test('the right token echoes the challenge', () => {
    expect(answerVerification(fixture.query, mine)).toEqual({ ok: true, challenge: fixture.expected_response.body });
  });

  test.each([
    ['wrong token', { ...fixture.query, 'hub.verify_token': 'nope' }],
    ['wrong mode', { ...fixture.query, 'hub.mode': 'unsubscribe' }],
    ['no challenge', { 'hub.mode': 'subscribe', 'hub.verify_token': 'meatyhamhock' }],
    ['repeated token', { ...fixture.query, 'hub.verify_token': ['meatyhamhock', 'meatyhamhock'] }],
  ])('%s is refused', (_why, query) => {
    expect(answerVerification(query, mine)).toEqual({ ok: false });
  });
});
