import { classifyTelegramError } from '../../../../src/channels/telegram/errors';
import { telegramConfigSchema } from '../../../../src/channels/telegram/config';
import { fixtureFiles } from '../../../helpers/fixtures';

const expected: Record<string, { kind: string; retryable: boolean }> = {
  'error-400-chat-not-found.json': { kind: 'rejected', retryable: false },
  'error-401-unauthorized.json': { kind: 'auth', retryable: false },
  'error-403-bot-blocked.json': { kind: 'rejected', retryable: false },
  'error-429-too-many-requests.json': { kind: 'rate_limited', retryable: true },
};

describe('Telegram error fixtures are classified', () => {
  test.each(fixtureFiles('telegram', 'error-').map((f) => [f.name, f.body]))('%s', (name, body) => {
    const err = classifyTelegramError(body.error_code, body);
    expect(expected[name]).toBeDefined();
    expect({ kind: err.kind, retryable: err.retryable }).toEqual(expected[name]);
    // The agent sees Telegram's own words.
    expect(err.message).toBe(body.description);
  });
});

test('429 carries retry_after as the retry delay', () => {
  const [{ body }] = fixtureFiles('telegram', 'error-429');
  expect(classifyTelegramError(429, body).details.retryAfterMs).toBe(body.parameters.retry_after * 1000);
});

test('5xx and unknown bodies are outages, retried', () => {
  expect(classifyTelegramError(502, { ok: false, error_code: 502, description: 'Bad Gateway' }).retryable).toBe(true);
  expect(classifyTelegramError(500, undefined).kind).toBe('unavailable');
});

test('bot_token format is checked', () => {
  expect(telegramConfigSchema.safeParse({ bot_token: '5062246006:AAFdlD4m5kVg94-FW0igXTti8oj2UHUlJz4' }).success).toBe(true);
  expect(telegramConfigSchema.safeParse({ bot_token: '123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11' }).success).toBe(true);
  for (const bad of ['', 'abc', '123456', ':AAFdlD4m5kVg94-FW0igXTti8oj2UHUlJz4', '12:short', '1234:has spaces in it and more more more']) {
    expect(telegramConfigSchema.safeParse({ bot_token: bad }).success).toBe(false);
  }
  expect(telegramConfigSchema.safeParse({ bot_token: '5062246006:AAFdlD4m5kVg94-FW0igXTti8oj2UHUlJz4', extra: 1 }).success).toBe(false);
});
