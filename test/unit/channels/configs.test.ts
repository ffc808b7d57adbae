import type { z } from 'zod';
import { adapterFor, adapters } from '../../../src/channels';
import { emailConfigSchema } from '../../../src/channels/email/config';
import { instagramConfigSchema } from '../../../src/channels/instagram/config';
import { maskConfig, maskSecret } from '../../../src/channels/mask';
import { CHANNEL_TYPES, ChannelType } from '../../../src/channels/types';
import { webchatConfigSchema } from '../../../src/channels/webchat/config';
import { whatsappConfigSchema } from '../../../src/channels/whatsapp/config';
import { xConfigSchema } from '../../../src/channels/x/config';

/** Each bad field's path, as the API reports it (`validate` joins zod's issue paths with dots). */
function badPaths(schema: z.ZodType, input: unknown): string[] {
  const r = schema.safeParse(input);
  if (r.success) throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
  return [...new Set(r.error.issues.map((i) => i.path.join('.')))].sort();
}

function issueAt(schema: z.ZodType, input: unknown, path: string) {
  const r = schema.safeParse(input);
  if (r.success) throw new Error('expected a failure');
  const issue = r.error.issues.find((i) => i.path.join('.') === path);
  if (!issue) throw new Error(`no issue at ${path}: ${JSON.stringify(r.error.issues)}`);
  return issue;
}

const imap = {
  method: 'imap',
  host: 'imap.example.com',
  port: 993,
  user: 'support@example.com',
  password: 'imap-password-9f3k',
};
const smtp = { host: 'smtp.example.com', port: 465, user: 'support@example.com', password: 'smtp-password-7q2w' };

/** A complete, valid config per type, every credential distinct and longer than 8 characters. */
const fullConfigs: Record<ChannelType, Record<string, unknown>> = {
  webchat: {
    allowed_domains: ['example.com', '*.example.org', 'localhost'],
    welcome_message: 'Hi! How can we help?',
    brand_color: '#1a2b3c',
    logo_url: 'https://cdn.example.com/logo.png',
  },
  email: { address: 'support@example.com', inbound: imap, smtp, from_name: 'Example Support' },
  whatsapp: {
    access_token: 'EAAGwhatsapptoken0001',
    phone_number_id: '106540352242922',
    app_secret: 'wa-app-secret-0002',
    business_account_id: '102290129340398',
  },
  telegram: { bot_token: '5062246006:AAFdlD4m5kVg94-FW0igXTti8oj2UHUlJz4' },
  instagram: { access_token: 'IGQVJinstagramtoken0003', page_id: '17841400000000000', app_secret: 'ig-app-secret-0004' },
  x: {
    api_key: 'xconsumerkey0005',
    api_secret: 'xconsumersecret0006',
    access_token: '1234567890-xaccesstoken0007',
    access_token_secret: 'xaccesstokensecret0008',
    oauth2_user_token: 'xoauth2usertoken0009',
    inbound: 'webhook',
    poll_interval_seconds: 120,
  },
};

describe('registry', () => {
  test('every channel type has an adapter of its own type', () => {
    for (const type of CHANNEL_TYPES) expect(adapterFor(type).type).toBe(type);
    expect(Object.keys(adapters).sort()).toEqual([...CHANNEL_TYPES].sort());
  });

  test('every channel type can send', () => {
    expect(CHANNEL_TYPES.filter((t) => !adapterFor(t).send)).toEqual([]);
  });

  test('adapterFor refuses a type that is not one (a bad database row)', () => {
    expect(() => adapterFor('fax' as ChannelType)).toThrow('unknown channel type "fax"');
  });

  test.each(CHANNEL_TYPES)('%s: the full sample config passes and every secret path holds a string', (type) => {
    const parsed = adapterFor(type).config.parse(fullConfigs[type]) as Record<string, unknown>;
    for (const path of adapterFor(type).secretFields) {
      const value = path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], parsed);
      expect(typeof value).toBe('string');
    }
  });

  test.each(CHANNEL_TYPES)('%s: unknown top-level keys are rejected', (type) => {
    const issue = issueAt(adapterFor(type).config, { ...fullConfigs[type], extra_setting: 1 }, '');
    expect(issue).toMatchObject({ code: 'unrecognized_keys', keys: ['extra_setting'] });
  });
});

describe('webchat', () => {
  test('needs nothing: an empty config gets an empty domain list', () => {
    expect(webchatConfigSchema.parse({})).toEqual({ allowed_domains: [] });
  });

  test('domains and colour are trimmed and lower-cased', () => {
    const cfg = webchatConfigSchema.parse({ allowed_domains: [' Example.COM ', '*.Shop.Example.com'], brand_color: '#AABBCC' });
    expect(cfg).toMatchObject({ allowed_domains: ['example.com', '*.shop.example.com'], brand_color: '#aabbcc' });
  });

  test('reports every bad field', () => {
    const bad = {
      allowed_domains: ['ok.example.com', 'https://example.com', '*.com', 'example.com:8080', ''],
      welcome_message: 'x'.repeat(501),
      brand_color: 'red',
      logo_url: 'http://cdn.example.com/logo.png',
    };
    expect(badPaths(webchatConfigSchema, bad)).toEqual(
      ['allowed_domains.1', 'allowed_domains.2', 'allowed_domains.3', 'allowed_domains.4', 'brand_color', 'logo_url', 'welcome_message'].sort(),
    );
    expect(issueAt(webchatConfigSchema, bad, 'logo_url').message).toMatch(/https/);
  });

  test('a blank welcome message is rejected, not stored', () => {
    expect(badPaths(webchatConfigSchema, { welcome_message: '   ' })).toEqual(['welcome_message']);
    expect(badPaths(webchatConfigSchema, { allowed_domains: 'example.com' })).toEqual(['allowed_domains']);
  });
});

describe('email', () => {
  test('imap inbound gets its defaults; strings are trimmed', () => {
    const cfg = emailConfigSchema.parse({
      address: ' support@example.com ',
      inbound: { ...imap, host: ' imap.example.com ' },
      smtp,
    });
    expect(cfg.address).toBe('support@example.com');
    expect(cfg.inbound).toEqual({ ...imap, secure: true, mailbox: 'INBOX', poll_interval_seconds: 60 });
    expect(cfg.smtp.secure).toBe(true);
  });

  test('imap poll interval: whole seconds, 1 to 3600', () => {
    const withInterval = (v: unknown) => emailConfigSchema.safeParse({ address: 'a@example.com', inbound: { ...imap, poll_interval_seconds: v }, smtp });
    expect(withInterval(5).success).toBe(true);
    for (const bad of [0, 3601, 1.5, '60']) {
      const r = withInterval(bad);
      expect(r.success).toBe(false);
      expect(r.error!.issues[0].path).toEqual(['inbound', 'poll_interval_seconds']);
    }
  });

  test('webhook inbound needs nothing else; STARTTLS submission with secure false', () => {
    const cfg = emailConfigSchema.parse({
      address: 'help@example.com',
      inbound: { method: 'webhook' },
      smtp: { ...smtp, port: 587, secure: false },
    });
    expect(cfg.inbound).toEqual({ method: 'webhook' });
  });

  test('imap missing host and smtp.port 0 reports both', () => {
    const { host: _host, ...noHost } = imap;
    const bad = { address: 'support@example.com', inbound: noHost, smtp: { ...smtp, port: 0 } };
    expect(badPaths(emailConfigSchema, bad)).toEqual(['inbound.host', 'smtp.port']);
    expect(issueAt(emailConfigSchema, bad, 'inbound.host').message).toBe('is required');
  });

  test('reports every bad field', () => {
    const bad = {
      address: 'not-an-address',
      inbound: { ...imap, host: 'imaps://imap.example.com', port: 70000, secure: 'yes', user: '  ', mailbox: '' },
      smtp: { host: 'smtp.example.com', port: 25.5, user: 'u', password: '' },
      from_name: 'Support\r\nBcc: everyone@example.com',
    };
    expect(badPaths(emailConfigSchema, bad)).toEqual(
      [
        'address',
        'from_name',
        'inbound.host',
        'inbound.mailbox',
        'inbound.port',
        'inbound.secure',
        'inbound.user',
        'smtp.password',
        'smtp.port',
      ].sort(),
    );
  });

  test('an unknown inbound method names the choices', () => {
    const issue = issueAt(emailConfigSchema, { address: 'a@example.com', inbound: { method: 'pop3' }, smtp }, 'inbound.method');
    expect(issue.message).toMatch(/"imap".*"webhook"/);
    expect(badPaths(emailConfigSchema, { address: 'a@example.com', smtp })).toEqual(['inbound']);
  });

  test('TLS setting that contradicts a well-known port is caught', () => {
    const bad = { address: 'a@example.com', inbound: { ...imap, port: 143 }, smtp: { ...smtp, port: 587 } };
    expect(badPaths(emailConfigSchema, bad)).toEqual(['inbound.secure', 'smtp.secure']);
    expect(issueAt(emailConfigSchema, bad, 'smtp.secure').message).toMatch(/"secure": false/);
    const plainOnTlsPort = { address: 'a@example.com', inbound: { ...imap, secure: false }, smtp: { ...smtp, secure: false } };
    expect(badPaths(emailConfigSchema, plainOnTlsPort)).toEqual(['inbound.secure', 'smtp.secure']);
  });

  test('unknown keys are rejected inside nested objects too', () => {
    const bad = { address: 'a@example.com', inbound: { method: 'webhook', host: 'x' }, smtp: { ...smtp, tls: true } };
    expect(badPaths(emailConfigSchema, bad)).toEqual(['inbound', 'smtp']);
    expect(issueAt(emailConfigSchema, bad, 'smtp')).toMatchObject({ code: 'unrecognized_keys', keys: ['tls'] });
  });
});

describe('whatsapp', () => {
  test('business_account_id is optional', () => {
    const { business_account_id: _b, ...minimal } = fullConfigs.whatsapp;
    expect(whatsappConfigSchema.parse(minimal)).toEqual(minimal);
  });

  test('reports every bad field', () => {
    const bad = { access_token: 'Bearer EAAGtoken', phone_number_id: '+1 555 0100', business_account_id: 'waba-1' };
    expect(badPaths(whatsappConfigSchema, bad)).toEqual(['access_token', 'app_secret', 'business_account_id', 'phone_number_id']);
    expect(issueAt(whatsappConfigSchema, bad, 'access_token').message).toMatch(/Bearer/);
    expect(issueAt(whatsappConfigSchema, bad, 'phone_number_id').message).toMatch(/Phone number ID/);
  });
});

describe('instagram', () => {
  test('reports every bad field', () => {
    expect(badPaths(instagramConfigSchema, { page_id: 'my-page', app_secret: '' })).toEqual(['access_token', 'app_secret', 'page_id']);
  });
});

describe('x', () => {
  test('polls every 60 s unless told otherwise', () => {
    const { inbound: _i, poll_interval_seconds: _p, ...minimal } = fullConfigs.x;
    expect(xConfigSchema.parse(minimal)).toEqual({ ...minimal, inbound: 'polling', poll_interval_seconds: 60 });
  });

  test('reports every bad field', () => {
    const bad = { api_key: ' ', api_secret: 'a secret', access_token: 'tok', inbound: 'stream', poll_interval_seconds: 0 };
    expect(badPaths(xConfigSchema, bad)).toEqual(['access_token_secret', 'api_key', 'api_secret', 'inbound', 'poll_interval_seconds']);
  });

  test('an OAuth 2.0 user token replaces the OAuth 1.0a values; webhooks still need the consumer secret', () => {
    const oauth2 = { oauth2_user_token: 'bWZ4cU9uLXh0b2tlbi0wMDA5' };
    expect(xConfigSchema.parse(oauth2)).toEqual({ ...oauth2, inbound: 'polling', poll_interval_seconds: 60 });
    expect(badPaths(xConfigSchema, { ...oauth2, inbound: 'webhook' })).toEqual(['api_secret']);
    expect(issueAt(xConfigSchema, { ...oauth2, inbound: 'webhook' }, 'api_secret').message).toMatch(/signs its webhooks/);
    expect(xConfigSchema.parse({ ...oauth2, inbound: 'webhook', api_secret: 'xconsumersecret0006' }).api_secret).toBe('xconsumersecret0006');
    expect(adapters.x.secretFields).toContain('oauth2_user_token');
  });

  test.each([0, 3601, 30.5, '60'])('poll_interval_seconds %p is rejected', (n) => {
    expect(badPaths(xConfigSchema, { ...fullConfigs.x, poll_interval_seconds: n })).toEqual(['poll_interval_seconds']);
  });
});

describe('maskConfig', () => {
  test('masks nested secret paths and leaves everything else as it was', () => {
    const cfg = emailConfigSchema.parse(fullConfigs.email);
    const masked = maskConfig(cfg, adapters.email.secretFields);
    expect(masked).toEqual({
      ...cfg,
      inbound: { ...cfg.inbound, password: maskSecret(imap.password) },
      smtp: { ...cfg.smtp, password: maskSecret(smtp.password) },
    });
    expect((masked.smtp as Record<string, unknown>).password).toBe('********7q2w');
  });

  test('never changes its input, and shares no object with it', () => {
    const cfg = emailConfigSchema.parse(fullConfigs.email);
    const before = structuredClone(cfg);
    const masked = maskConfig(cfg, adapters.email.secretFields);
    expect(cfg).toEqual(before);
    (masked.smtp as Record<string, unknown>).host = 'changed';
    expect(cfg.smtp.host).toBe('smtp.example.com');
  });

  test('skips paths absent from this config (webhook inbound has no password)', () => {
    const cfg = { address: 'a@example.com', inbound: { method: 'webhook' }, smtp };
    expect(maskConfig(cfg, adapters.email.secretFields)).toEqual({
      ...cfg,
      smtp: { ...smtp, password: maskSecret(smtp.password) },
    });
  });

  test('hides a secret that is not a string instead of showing it', () => {
    const stored = { smtp: { password: { nested: 'leaky-value-123' } }, inbound: { password: 12345678901 } };
    const json = JSON.stringify(maskConfig(stored, adapters.email.secretFields));
    expect(json).not.toContain('leaky-value-123');
    expect(json).not.toContain('12345678901');
  });

  test('a path that walks through a non-object is left alone', () => {
    expect(maskConfig({ smtp: 'not an object' }, ['smtp.password'])).toEqual({ smtp: 'not an object' });
  });

  test.each(CHANNEL_TYPES)('%s: no secret value survives anywhere in the masked JSON', (type) => {
    const adapter = adapterFor(type);
    const cfg = adapter.config.parse(fullConfigs[type]) as Record<string, unknown>;
    const json = JSON.stringify(maskConfig(cfg, adapter.secretFields));
    for (const path of adapter.secretFields) {
      const secret = path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], cfg) as string;
      expect(json).not.toContain(secret);
    }
  });
});
