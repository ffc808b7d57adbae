import { classifyXError } from '../../../../src/channels/x/errors';
import { fixtureFiles } from '../../../helpers/fixtures';

const expected: Record<string, { kind: string; retryable: boolean; message: RegExp }> = {
  'dm-send-403-cannot-send-to-user.json': { kind: 'rejected', retryable: false, message: /^You cannot send messages to this user\.$/ },
  'dm-send-v2-403-forbidden.json': { kind: 'rejected', retryable: false, message: /^X refused this DM \(403 Forbidden\): the recipient may not accept DMs/ },
  'dm-send-v2-429-rate-limited.json': { kind: 'rate_limited', retryable: true, message: /^Too Many Requests$/ },
};

describe('X error fixtures are classified', () => {
  const errorFixtures = fixtureFiles('x', 'dm-send-').filter((f) => f.body.status >= 400);
  test.each(errorFixtures.map((f) => [f.name, f.body]))('%s', (name, fixture) => {
    const reset = fixture.headers?.['x-rate-limit-reset'];
    const err = classifyXError(fixture.status, fixture.body, reset === undefined ? undefined : Number(reset));
    expect(expected[name]).toBeDefined();
    expect({ kind: err.kind, retryable: err.retryable }).toEqual({ kind: expected[name].kind, retryable: expected[name].retryable });
    expect(err.message).toMatch(expected[name].message);
  });
  test('every error fixture has an expectation', () => {
    expect(errorFixtures.map((f) => f.name).sort()).toEqual(Object.keys(expected).sort());
  });
});

test('429 waits until x-rate-limit-reset (epoch seconds)', () => {
  const [{ body: fixture }] = fixtureFiles('x', 'dm-send-v2-429');
  const reset = Number(fixture.headers['x-rate-limit-reset']);
  const now = reset * 1000 - 42_000;
  expect(classifyXError(429, fixture.body, reset, now).details.retryAfterMs).toBe(42_000);
  // A reset already past (clock skew) still waits a moment rather than hammering X.
  expect(classifyXError(429, fixture.body, reset, reset * 1000 + 5000).details.retryAfterMs).toBe(1000);
  expect(classifyXError(429, fixture.body, undefined).details.retryAfterMs).toBeUndefined();
});

test('401 is an auth error; app-level 403 problems too; 5xx are outages', () => {
  expect(classifyXError(401, { title: 'Unauthorized', type: 'about:blank', status: 401, detail: 'Unauthorized' })).toMatchObject({ kind: 'auth', message: 'Unauthorized' });
  expect(classifyXError(401, { errors: [{ code: 89, message: 'Invalid or expired token.' }] }).kind).toBe('auth');
  const notEnrolled = { title: 'Client Forbidden', detail: 'When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project.', type: 'https://api.twitter.com/2/problems/client-forbidden', status: 403 };
  expect(classifyXError(403, notEnrolled).kind).toBe('auth');
  expect(classifyXError(503, { title: 'Service Unavailable', detail: 'Service Unavailable', type: 'about:blank', status: 503 }).retryable).toBe(true);
  expect(classifyXError(502, undefined)).toMatchObject({ kind: 'unavailable', message: 'HTTP 502' });
});
