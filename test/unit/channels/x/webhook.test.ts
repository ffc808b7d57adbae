import { crcResponseToken, isCrcToken, verifyWebhookSignature, webhookSignature } from '../../../../src/channels/x/webhook';
import { fixtureFiles } from '../../../helpers/fixtures';

test('CRC response token matches x/crc-request-response.json', () => {
  const [{ body: fixture }] = fixtureFiles('x', 'crc-request-response');
  expect(crcResponseToken(fixture.consumer_secret, fixture.request.query.crc_token)).toBe(fixture.expected_response.body.response_token);
});

test('webhook signatures are checked over the raw bytes', () => {
  const raw = Buffer.from('{"for_user_id":"1","direct_message_events":[]}');
  const header = webhookSignature('consumer-secret', raw);
  expect(header).toMatch(/^sha256=[A-Za-z0-9+/]{43}=$/);
  expect(verifyWebhookSignature('consumer-secret', raw, header)).toBe(true);
  expect(verifyWebhookSignature('other-secret', raw, header)).toBe(false);
  // The same JSON re-serialised with a space is different bytes, so a different signature.
  expect(verifyWebhookSignature('consumer-secret', Buffer.from('{"for_user_id": "1","direct_message_events":[]}'), header)).toBe(false);
  expect(verifyWebhookSignature('consumer-secret', raw, undefined)).toBe(false);
  expect(verifyWebhookSignature('consumer-secret', raw, 'sha256=short')).toBe(false);
});

test("CRC tokens: X's shapes pass; nothing a delivery body could be is ever signed", () => {
  const [{ body: fixture }] = fixtureFiles('x', 'crc-request-response');
  const seen = 'M2RkODJkZmMtYjlkYi00NmQ4LTk0MGUtM2JjYzkwM2Q4MjQ0'; // base64 of a UUID, as X sends them
  for (const token of [fixture.request.query.crc_token, seen, 'a'.repeat(256), 'abc_DEF-1.2~3', 'a+b/c=']) expect(isCrcToken(token)).toBe(true);
  const body = '{"for_user_id":"1","direct_message_events":[]}';
  for (const token of [body, '{}', '[1]', '"x"', '', 'a'.repeat(257), 'a b', 'a\nb', 'ä']) {
    expect(isCrcToken(token)).toBe(false);
    expect(() => crcResponseToken('consumer-secret', token)).toThrow(/not a CRC token/);
  }
});
