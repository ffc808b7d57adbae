import { ConfigError, loadConfig } from '../../src/config';

test('a missing required variable is named in one line', () => {
  expect(() => loadConfig({})).toThrow(new ConfigError('DATABASE_URL is required'));
});

test('a bad value names the variable and what is wrong', () => {
  expect(() => loadConfig({ DATABASE_URL: 'postgres://x@h/db', PORT: 'eighty' })).toThrow(/^PORT /);
  expect(() => loadConfig({ DATABASE_URL: 'not a url' })).toThrow(/^DATABASE_URL /);
  expect(() => loadConfig({ DATABASE_URL: 'postgres://x@h/db', PINGBACK_ADMIN_TOKEN: 'short' })).toThrow(/^PINGBACK_ADMIN_TOKEN must be at least 16/);
});

test('defaults fill the rest; empty strings count as unset', () => {
  const c = loadConfig({ DATABASE_URL: 'postgres://x@h/db', PORT: '', TELEGRAM_API_BASE_URL: '' });
  expect(c).toMatchObject({ PORT: 3000, TELEGRAM_API_BASE_URL: 'https://api.telegram.org', TEMPORAL_ADDRESS: '127.0.0.1:7233' });
});

test('worker settings: defaults, and a value out of range names the variable', () => {
  const c = loadConfig({ DATABASE_URL: 'postgres://x@h/db', WORKER_STICKY_QUEUE_TIMEOUT_MS: '30000' });
  expect(c).toMatchObject({ WORKER_INSTANCES: 4, WORKER_MAX_CACHED_WORKFLOWS: 10_000, WORKER_STICKY_QUEUE_TIMEOUT_MS: 30_000 });
  expect(loadConfig({ DATABASE_URL: 'postgres://x@h/db' }).WORKER_STICKY_QUEUE_TIMEOUT_MS).toBe(10_000);
  expect(() => loadConfig({ DATABASE_URL: 'postgres://x@h/db', WORKER_STICKY_QUEUE_TIMEOUT_MS: '0' })).toThrow(/^WORKER_STICKY_QUEUE_TIMEOUT_MS /);
  expect(() => loadConfig({ DATABASE_URL: 'postgres://x@h/db', WORKER_INSTANCES: '65' })).toThrow(/^WORKER_INSTANCES /);
});

test.each(['WORKER_METRICS_ADDRESS', 'API_METRICS_ADDRESS'] as const)('%s: host:port or off', (name) => {
  const base = { DATABASE_URL: 'postgres://x@h/db' };
  expect(loadConfig(base)[name]).toBeUndefined();
  expect(loadConfig({ ...base, [name]: '0.0.0.0:9464' })[name]).toBe('0.0.0.0:9464');
  expect(loadConfig({ ...base, [name]: '[::]:9464' })[name]).toBe('[::]:9464');
  expect(() => loadConfig({ ...base, [name]: '9464' })).toThrow(new RegExp(`^${name} must be host:port`));
  expect(() => loadConfig({ ...base, [name]: 'localhost:99999' })).toThrow(new RegExp(`^${name} port must be at most`));
});

test("workflow sandbox switches: the SDK's defaults, turned off by name, anything else refused", () => {
  const base = { DATABASE_URL: 'postgres://x@h/db' };
  expect(loadConfig(base)).toMatchObject({ WORKER_DEADLOCK_TIMEOUT_MS: 5000, WORKER_WORKFLOW_STACK_TRACES: true });
  expect(loadConfig({ ...base, WORKER_DEADLOCK_TIMEOUT_MS: '0', WORKER_WORKFLOW_STACK_TRACES: 'false' })).toMatchObject({
    WORKER_DEADLOCK_TIMEOUT_MS: 0,
    WORKER_WORKFLOW_STACK_TRACES: false,
  });
  expect(() => loadConfig({ ...base, WORKER_DEADLOCK_TIMEOUT_MS: '-1' })).toThrow(/^WORKER_DEADLOCK_TIMEOUT_MS /);
  expect(() => loadConfig({ ...base, WORKER_WORKFLOW_STACK_TRACES: 'yes' })).toThrow(/^WORKER_WORKFLOW_STACK_TRACES must be true or false/);
});

test('web chat limits and proxy hops: defaults, and a bad value names the variable', () => {
  const base = { DATABASE_URL: 'postgres://x@h/db' };
  expect(loadConfig(base)).toMatchObject({
    WEBCHAT_MESSAGES_PER_MINUTE: 30,
    WEBCHAT_VISITORS_PER_MINUTE: 20,
    WEBCHAT_UPLOADS_PER_MINUTE: 10,
    WEBCHAT_ATTACHMENT_MAX_BYTES: 10 * 1024 * 1024,
    TRUSTED_PROXY_HOPS: 0,
  });
  expect(loadConfig({ ...base, TRUSTED_PROXY_HOPS: '1' }).TRUSTED_PROXY_HOPS).toBe(1);
  for (const [name, bad] of [
    ['WEBCHAT_MESSAGES_PER_MINUTE', '0'],
    ['WEBCHAT_VISITORS_PER_MINUTE', 'lots'],
    ['WEBCHAT_UPLOADS_PER_MINUTE', '-1'],
    ['WEBCHAT_ATTACHMENT_MAX_BYTES', String(50 * 1024 * 1024 + 1)],
    ['TRUSTED_PROXY_HOPS', '-1'],
  ]) {
    expect(() => loadConfig({ ...base, [name]: bad })).toThrow(new RegExp(`^${name} `));
  }
});

test('EMAIL_TLS_CA_FILE: a readable PEM file of certificates, or the variable is named', () => {
  const base = { DATABASE_URL: 'postgres://x@h/db' };
  const ca = require('node:path').resolve(__dirname, '../fixtures/tls/mail-server.crt');
  expect(loadConfig({ ...base, EMAIL_TLS_CA_FILE: ca }).EMAIL_TLS_CA_FILE).toBe(ca);
  expect(() => loadConfig({ ...base, EMAIL_TLS_CA_FILE: '/nonexistent/ca.pem' })).toThrow(/^EMAIL_TLS_CA_FILE must be a readable PEM file of CA certificates/);
  // The key beside it is PEM, but not a certificate.
  expect(() => loadConfig({ ...base, EMAIL_TLS_CA_FILE: ca.replace('.crt', '.key') })).toThrow(/^EMAIL_TLS_CA_FILE /);
});

test('MAIL_AUTH_DNS_SERVERS takes addresses with or without a port, and refuses a host name at start-up', () => {
  const env = { DATABASE_URL: 'postgres://x@h/db' };
  expect(loadConfig({ ...env, MAIL_AUTH_DNS_SERVERS: '10.0.0.2, 10.0.0.3:5353,[2001:db8::1]:53,2001:db8::2' }).MAIL_AUTH_DNS_SERVERS).toEqual(['10.0.0.2', '10.0.0.3:5353', '[2001:db8::1]:53', '2001:db8::2']);
  expect(() => loadConfig({ ...env, MAIL_AUTH_DNS_SERVERS: 'dns.example' })).toThrow(/^MAIL_AUTH_DNS_SERVERS must be IP addresses/);
  expect(() => loadConfig({ ...env, MAIL_AUTH_DNS_SERVERS: '10.0.0.2:99999' })).toThrow(/^MAIL_AUTH_DNS_SERVERS /);
});
