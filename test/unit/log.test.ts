import { createLogger } from '../../src/log';
import { sdkLogger } from '../../src/temporal/sdk-logger';

/** Lines as a log shipper reads them: one JSON object each. */
function capture(level: 'debug' | 'info' = 'debug') {
  const lines: any[] = [];
  const log = createLogger(level, { destination: { write: (l: string) => void lines.push(JSON.parse(l)) } });
  return { log, lines };
}

test('one JSON line per event: level as a word, ISO time, msg, fields; below LOG_LEVEL nothing', () => {
  const { log, lines } = capture('info');
  log.debug('not shown');
  log.info('api listening', { url: 'http://127.0.0.1:3000' });
  expect(lines).toEqual([{ level: 'info', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), msg: 'api listening', url: 'http://127.0.0.1:3000' }]);
});

test('secrets in fields are redacted by name, however they got there; a child binds its fields to every line', () => {
  const { log, lines } = capture();
  const req = log.child({ request_id: 'r-1' });
  req.warn('odd', {
    token: 't0ps3cret',
    headers: { authorization: 'Bearer abc', host: 'x' },
    config: { bot_token: '123:ABC' },
    channel: { password: 'hunter2', host: 'imap.example', config: { app_secret: 'meta-s3cret' } },
    error: { response: { headers: { authorization: 'Bearer deep' } } },
    x: { api_secret: 'x-s3cret', access_token_secret: 'x-t0ken' },
  });
  expect(lines[0]).toMatchObject({
    request_id: 'r-1',
    token: '[redacted]',
    headers: { authorization: '[redacted]', host: 'x' },
    config: '[redacted]',
    channel: { password: '[redacted]', host: 'imap.example', config: '[redacted]' },
    x: { api_secret: '[redacted]', access_token_secret: '[redacted]' },
  });
  expect(JSON.stringify(lines)).not.toMatch(/t0ps3cret|Bearer abc|123:ABC|hunter2|meta-s3cret|x-s3cret|x-t0ken/);
});

test('an Error in a field is logged with its type, message and stack, not as {}', () => {
  const { log, lines } = capture();
  log.error('Activity failed', { error: new TypeError('boom') });
  expect(lines[0].error).toMatchObject({ type: 'TypeError', message: 'boom', stack: expect.stringContaining('TypeError: boom') });
});

test("the Temporal SDK's lines in the same format: its metadata as snake_case fields, a conversation's channel bound from its workflow id", () => {
  const { log, lines } = capture();
  const sdk = sdkLogger(log);
  const channelId = '6f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
  sdk.warn('Activity failed', { workflowId: `conversation/telegram/${channelId}/660001`, activityType: 'sendOutbound', taskQueue: 'pingback' });
  sdk.log('TRACE', 'core detail');
  expect(lines).toEqual([
    expect.objectContaining({ level: 'warn', msg: 'Activity failed', workflow_id: `conversation/telegram/${channelId}/660001`, activity_type: 'sendOutbound', task_queue: 'pingback', channel_type: 'telegram', channel_id: channelId }),
    expect.objectContaining({ level: 'debug', msg: 'core detail' }),
  ]);
});
