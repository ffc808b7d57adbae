import { crcResponseToken, verifyWebhookSignature, webhookSignature } from '../../src/channels/x/webhook';
import { fixtureFiles } from '../helpers/fixtures';

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
