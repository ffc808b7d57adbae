import { boundInbound, boundKey, boundRef, MAX_CONTENT_CHARS, MAX_KEY_CHARS } from '../../../src/inbound/bound';
import type { InboundMessage } from '../../../src/channels/types';

const message = (extra: Partial<InboundMessage> = {}): InboundMessage => ({
  platformMessageId: 'm1',
  threadKey: 't1',
  contact: { platformUserId: 'u1', name: 'Ada' },
  content: 'hello',
  contentType: 'text',
  attachments: [],
  metadata: {},
  ...extra,
});

test('a short key is kept as it is; a long one becomes its digest, the same every time', () => {
  expect(boundKey('wamid.HBgL')).toBe('wamid.HBgL');
  const long = `<${'x'.repeat(3000)}@customer.example>`;
  expect(boundKey(long)).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(boundKey(long)).toBe(boundKey(long));
  expect(boundKey(long)).not.toBe(boundKey(long + 'y'));
  expect(boundKey('k'.repeat(MAX_KEY_CHARS))).toBe('k'.repeat(MAX_KEY_CHARS));
  expect(boundRef({ threadKey: long, channelId: 'c' })).toEqual({ threadKey: boundKey(long), channelId: 'c' });
});

test('an ordinary message passes unchanged', () => {
  const m = message({ platformTimestamp: '2026-12-05T03:00:00.000Z', metadata: { update_id: 7 }, attachments: [{ type: 'image', platformFileId: 'f1', mimeType: 'image/png' }] });
  expect(boundInbound(m)).toEqual(m);
});

test('every field a platform fills is bounded, so no message makes a signal Temporal refuses or a row PostgreSQL cannot index', () => {
  const huge = 'z'.repeat(1_000_000);
  const bounded = boundInbound(
    message({
      platformMessageId: huge,
      threadKey: huge,
      contact: { platformUserId: huge, name: huge, username: huge },
      sender: { platformUserId: huge, name: huge },
      content: huge,
      contentType: huge,
      attachments: Array.from({ length: 500 }, () => ({ type: 'document', mimeType: huge, fileName: huge, url: huge, platformFileId: huge })),
      metadata: { references: Array.from({ length: 1000 }, () => huge), nested: { deeper: { still: huge } } },
      platformTimestamp: 'not a time',
    }),
  );
  expect(bounded.platformMessageId).toBe(boundKey(huge));
  expect(bounded.threadKey).toBe(boundKey(huge));
  expect(bounded.contact.platformUserId).toBe(boundKey(huge));
  expect(bounded.contact.name).toHaveLength(256);
  expect(bounded.content).toHaveLength(MAX_CONTENT_CHARS);
  expect(bounded.metadata.truncated_from_chars).toBe(huge.length);
  expect(bounded.attachments).toHaveLength(20);
  expect(bounded.platformTimestamp).toBeUndefined();
  // Temporal warns past 512 KB and refuses past 2 MB.
  expect(JSON.stringify(bounded).length).toBeLessThan(512 * 1024);
});

test('metadata too large is cut field by field, or dropped when that is not enough', () => {
  const cut = boundInbound(message({ metadata: { quoted_text: 'q'.repeat(200_000), subject: 'Invoice' } }));
  expect(cut.metadata).toEqual({ quoted_text: 'q'.repeat(4096), subject: 'Invoice', metadata_cut: true });
  const dropped = boundInbound(message({ metadata: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'.repeat(4096)])) }));
  expect(dropped.metadata).toEqual({ metadata_dropped: true });
});

test("a platform's time is kept as ISO 8601", () => {
  expect(boundInbound(message({ platformTimestamp: '2026-12-05T04:00:00+01:00' })).platformTimestamp).toBe('2026-12-05T03:00:00.000Z');
  // A year PostgreSQL would not take as written (a sender's Date header says what it likes): no time rather than no message.
  for (const t of ['Mon, 1 Jan 10000 00:00:00 +0000', '+010000-01-01T00:00:00Z', '0000-01-01T00:00:00Z']) expect(boundInbound(message({ platformTimestamp: t })).platformTimestamp).toBeUndefined();
});
