import { parseEmail, MAX_CONTENT_CHARS } from '../../../../src/channels/email/parse';
import { ownMessageId, referencesFor, threadKeyFor, threadKeyOf } from '../../../../src/channels/email/threading';
import { replySubject } from '../../../../src/channels/email/adapter';
import { composeMail, deliveryStatusNotification } from '../../../helpers/mail-provider';

const customer = 'Ann Lee <Ann.Lee@Example.com>';
const support = 'support@acme.test';

async function parsed(mail: Parameters<typeof composeMail>[0]) {
  const r = await parseEmail(await composeMail(mail));
  if (r.kind !== 'message') throw new Error(`expected a message, got ${r.kind}`);
  return r.message;
}

describe('email threading', () => {
  it('a new mail starts a thread keyed by its own Message-ID; replies to it, by either header, land in the same one', async () => {
    const first = await parsed({ from: customer, to: support, subject: 'Order 1234', text: 'Where is it?', messageId: 'm1@example.com' });
    expect(first.threadKey).toBe(threadKeyOf('m1@example.com', 'ann.lee@example.com'));
    const second = await parsed({ from: customer, to: support, subject: 'Re: Order 1234', text: 'Any news?', messageId: 'm2@example.com', inReplyTo: 'm1@example.com', references: ['m1@example.com'] });
    expect(second.threadKey).toBe(first.threadKey);
    const onlyInReplyTo = await parsed({ from: customer, to: support, text: 'Hello?', messageId: 'm3@example.com', inReplyTo: 'm1@example.com' });
    expect(onlyInReplyTo.threadKey).toBe(first.threadKey);
  });

  it("a reply to PingBack's own mail finds the conversation from PingBack's Message-ID, even when the client dropped References", async () => {
    const key = threadKeyOf('m1@example.com', 'ann@example.com');
    const ours = ownMessageId(key, '3f0c6f0e-8a38-4a7e-9a56-0d5b8d3c2a11', support, 'Ann@Example.com');
    expect(ours).toMatch(new RegExp(`^pb\\.${key}\\.[A-Za-z0-9_-]{8}\\.3f0c6f0e-8a38-4a7e-9a56-0d5b8d3c2a11@acme\\.test$`));
    expect(threadKeyFor({ messageId: 'x@y', inReplyTo: ours, references: [] }, 'ann@example.com')).toBe(key);
    // The root of References would say otherwise (a forwarded chain); PingBack's own id wins.
    expect(threadKeyFor({ messageId: 'x@y', references: ['other-root@z', ours] }, 'ANN@example.com')).toBe(key);
  });

  it('two customers answering the same mail get a conversation each (a reply goes to the conversation\'s customer)', () => {
    const announcement = { messageId: 'x@y', references: ['news-1@acme.test'], inReplyTo: 'news-1@acme.test' };
    const ann = threadKeyFor(announcement, 'ann@example.com');
    const bo = threadKeyFor(announcement, 'bo@example.com');
    expect(ann).not.toBe(bo);
    // Bo forwarded PingBack's reply to Ann and answers it: his own conversation, not Ann's.
    const toAnn = ownMessageId(ann, '3f0c6f0e-8a38-4a7e-9a56-0d5b8d3c2a11', support, 'ann@example.com');
    expect(threadKeyFor({ messageId: 'z@y', inReplyTo: toAnn, references: [] }, 'bo@example.com')).not.toBe(ann);
  });

  it('References of a reply: the chain, then the parent; a long chain keeps its root (which keys the thread) and its newest ids', async () => {
    expect(referencesFor({ messageId: 'c@x', references: ['a@x', 'b@x'] })).toEqual(['a@x', 'b@x', 'c@x']);
    const long = Array.from({ length: 40 }, (_, i) => `r${i}@x`);
    const refs = referencesFor({ messageId: 'p@x', references: long });
    expect(refs).toHaveLength(20);
    expect(refs[0]).toBe('r0@x');
    expect(refs.at(-1)).toBe('p@x');
    expect(refs.at(-2)).toBe('r39@x');
    // A customer's long chain too: the root survives, so the thread key does not change as the thread grows.
    const longer = Array.from({ length: 80 }, (_, i) => `r${i}@x`);
    const longThread = await parsed({ from: customer, to: support, text: 'again', messageId: 'n@example.com', references: longer });
    expect(longThread.metadata.references).toHaveLength(50);
    expect((longThread.metadata.references as string[]).at(-1)).toBe('r79@x');
    expect(longThread.threadKey).toBe(threadKeyOf('r0@x', 'ann.lee@example.com'));
  });

  it('reply subjects get one "Re:"', () => {
    expect(replySubject('Order 1234')).toBe('Re: Order 1234');
    expect(replySubject('RE: Aw: re:Order 1234')).toBe('Re: Order 1234');
    expect(replySubject('')).toBe('Re: (no subject)');
  });
});

describe('parsing a customer mail', () => {
  it('keeps who wrote, what they wrote, the subject and the references; the address is the contact, in lower case', async () => {
    const date = new Date('2026-12-01T10:00:00Z');
    const m = await parsed({ from: customer, to: support, subject: 'Héllo ✓', text: 'Line one\r\nLine two', messageId: 'm9@example.com', references: ['m8@example.com'], inReplyTo: 'm8@example.com', date });
    expect(m).toMatchObject({
      platformMessageId: 'm9@example.com',
      contact: { platformUserId: 'ann.lee@example.com', name: 'Ann Lee' },
      content: 'Line one\nLine two',
      contentType: 'text',
      metadata: { subject: 'Héllo ✓', references: ['m8@example.com'], in_reply_to: 'm8@example.com' },
      platformTimestamp: date.toISOString(),
    });
  });

  it('an HTML-only mail becomes text; attachments are listed by name and type, inline images are not', async () => {
    const m = await parsed({
      from: customer,
      to: support,
      html: '<p>See <b>attached</b></p><img src="cid:logo">',
      messageId: 'h1@example.com',
      attachments: [
        { filename: 'invoice.pdf', content: Buffer.from('%PDF-1.4'), contentType: 'application/pdf' },
        { filename: 'photo.jpg', content: Buffer.from([0xff, 0xd8, 0xff]), contentType: 'image/jpeg' },
      ],
    });
    expect(m.content).toContain('See attached');
    // Where to find each again: the mail's Message-ID and the file's place among its attachments.
    expect(m.attachments).toEqual([
      { type: 'document', mimeType: 'application/pdf', fileName: 'invoice.pdf', size: 8, platformFileId: 'h1@example.com', index: 0 },
      { type: 'image', mimeType: 'image/jpeg', fileName: 'photo.jpg', size: 3, platformFileId: 'h1@example.com', index: 1 },
    ]);
  });

  it('a very long mail is cut, and says how long it was', async () => {
    const m = await parsed({ from: customer, to: support, text: 'x'.repeat(MAX_CONTENT_CHARS + 10), messageId: 'long@example.com' });
    expect(m.content).toHaveLength(MAX_CONTENT_CHARS);
    expect(m.metadata.truncated_from_chars).toBe(MAX_CONTENT_CHARS + 10);
  });

  it('a mail without a Message-ID is keyed by its bytes, the same each time it is read', async () => {
    const raw = Buffer.from(`From: ${customer}\r\nTo: ${support}\r\nSubject: hi\r\n\r\nno id here\r\n`);
    const a = await parseEmail(raw);
    const b = await parseEmail(Buffer.from(raw));
    expect(a.kind).toBe('message');
    expect(a.kind === 'message' && a.message.platformMessageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(a).toEqual(b);
  });

  it.each([
    ['a vacation reply', { 'Auto-Submitted': 'auto-replied' }],
    ['a mailing list', { Precedence: 'list' }],
    ['bulk mail', { Precedence: 'bulk' }],
  ])('%s is set aside, not answered (mail loops)', async (_what, headers) => {
    const r = await parseEmail(await composeMail({ from: customer, to: support, text: 'I am away', messageId: 'auto@example.com', headers }));
    expect(r).toMatchObject({ kind: 'ignored', reason: 'auto_submitted', summary: { message_id: 'auto@example.com', from: 'Ann.Lee@example.com' } });
  });

  it("a bounce of PingBack's reply names the reply, its conversation and the receiving server's reason", async () => {
    const key = threadKeyOf('m1@example.com', 'ann@customer.example');
    const ours = ownMessageId(key, '3f0c6f0e-8a38-4a7e-9a56-0d5b8d3c2a11', support, 'ann@customer.example');
    const r = await parseEmail(deliveryStatusNotification({ to: support, recipient: 'ann@customer.example', original: ours }));
    expect(r).toMatchObject({
      kind: 'bounce',
      bounce: {
        platformMessageId: ours,
        threadKey: key,
        error: 'the mail bounced (ann@customer.example): 550 5.1.1 <ann@customer.example>: Recipient address rejected: User unknown in virtual mailbox table',
      },
    });
    // "delayed": the server is still trying; nothing has failed yet.
    const delayed = await parseEmail(deliveryStatusNotification({ to: support, recipient: 'ann@customer.example', original: ours, action: 'delayed' }));
    expect(delayed).toMatchObject({ kind: 'ignored', reason: 'auto_submitted' });
    // A bounce of mail PingBack did not send (someone wrote from the support mailbox by hand).
    const theirs = await parseEmail(deliveryStatusNotification({ to: support, recipient: 'ann@customer.example', original: 'handwritten@acme.test' }));
    expect(theirs).toMatchObject({ kind: 'ignored', reason: 'auto_submitted' });
  });

  it('a delivery report (bounce) is set aside', async () => {
    const raw = Buffer.from(
      [
        'From: Mail Delivery Subsystem <mailer-daemon@example.com>',
        `To: ${support}`,
        'Subject: Delivery Status Notification (Failure)',
        'Message-ID: <dsn1@example.com>',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'Address not found',
        '--b--',
        '',
      ].join('\r\n'),
    );
    expect(await parseEmail(raw)).toMatchObject({ kind: 'ignored', reason: 'auto_submitted' });
  });

  it("PingBack's own reply, filed back into the mailbox, is set aside", async () => {
    const id = ownMessageId(threadKeyOf('m1@example.com', 'ann@example.com'), '3f0c6f0e-8a38-4a7e-9a56-0d5b8d3c2a11', support, 'ann@example.com');
    const r = await parseEmail(await composeMail({ from: support, to: customer, text: 'Our reply', messageId: id }));
    expect(r).toMatchObject({ kind: 'ignored', reason: 'own_message' });
  });

  it('a NUL in an encoded subject reaches the summary as it came (the database layer replaces it), and a huge subject is cut', async () => {
    const raw = Buffer.from(`From: ${customer}\r\nTo: ${support}\r\nMessage-ID: <nul@example.com>\r\nAuto-Submitted: auto-replied\r\nSubject: =?utf-8?b?aGkAdGhlcmU=?=\r\n\r\nbody\r\n`);
    expect(await parseEmail(raw)).toMatchObject({ kind: 'ignored', summary: { subject: 'hi\u0000there' } });
    const long = await parsed({ from: customer, to: support, subject: 's'.repeat(5000), text: 'x', messageId: 'subj@example.com' });
    expect(long.metadata.subject).toHaveLength(1000);
  });

  it('a mail with no From address is set aside', async () => {
    const r = await parseEmail(Buffer.from(`To: ${support}\r\nMessage-ID: <nf@example.com>\r\nSubject: ?\r\n\r\nbody\r\n`));
    expect(r).toMatchObject({ kind: 'ignored', reason: 'no_sender' });
  });
});

describe('the quoted thread below an answer', () => {
  const { splitQuotedReply } = require('../../../../src/channels/email/quoted-reply');

  it.each([
    ['Gmail', 'Thanks, that works.\n\nOn Tue, 1 Dec 2026 at 10:00, Acme Support <support@acme.test> wrote:\n> It ships tomorrow.\n>\n> > Where is my order?\n'],
    ['a wrapped attribution', 'Thanks, that works.\n\nOn Tue, 1 Dec 2026 at 10:00, Acme Support\n<support@acme.test> wrote:\n\n> It ships tomorrow.'],
    ['German Apple Mail', 'Thanks, that works.\n\nAm 01.12.2026 um 10:00 schrieb Acme Support <support@acme.test>:\n\n> It ships tomorrow.'],
    ['Spanish Gmail', 'Thanks, that works.\n\nEl mar, 1 dic 2026 a las 10:00, Acme Support (<support@acme.test>) escribió:\n> It ships tomorrow.'],
    ['Outlook', 'Thanks, that works.\n\n-----Original Message-----\nFrom: Acme Support <support@acme.test>\nSent: Tuesday, December 1, 2026 10:00 AM\nSubject: RE: Order 1234\n\nIt ships tomorrow.'],
    ['Outlook HTML', 'Thanks, that works.\n\n________________________________\nFrom: Acme Support <support@acme.test>\nSent: Tuesday\n\nIt ships tomorrow.'],
  ])('%s: the answer is the content, the quote is kept beside it', (_client, text) => {
    const { reply, quoted } = splitQuotedReply(text, true);
    expect(reply).toBe('Thanks, that works.');
    expect(quoted).toContain('It ships tomorrow.');
  });

  it.each([
    ['an answer written between quoted lines', 'On Tue, 1 Dec 2026, Acme Support wrote:\n> Which size?\nLarge, please.\n> Which colour?\nBlue.'],
    ["quoted lines below the customer's own sentence", 'Hi,\nmy bank wrote:\n> Transfer refused: account closed'],
    ["a sentence that starts like an attribution", 'Hello,\nOn my side nothing changed.\nI still get it.\nThe app wrote:\n> Error'],
    ['a mail that is only a quote', 'On Tue, 1 Dec 2026, Bo <bo@x> wrote:\n> please forward this'],
    ['no quote at all', 'Just a question.\n\nAnn'],
  ])('%s: kept whole', (_what, text) => {
    expect(splitQuotedReply(text, true)).toEqual({ reply: text });
  });

  it('a mail that answers nothing (a forward, a new mail) is kept whole, separator and all', () => {
    const forward = 'See what the courier said.\n\n________________________________\nFrom: DHL <noreply@dhl.example>\nSent: Monday\n\nParcel held at customs.';
    expect(splitQuotedReply(forward, false)).toEqual({ reply: forward });
  });

  it('a long line full of attribution words costs no more than reading it', () => {
    const hostile = 'On ' + 'wrote '.repeat(50_000) + '\n> x';
    expect(splitQuotedReply(hostile, true)).toEqual({ reply: hostile });
  });

  it('a parsed answer shows only what the customer wrote; the thread is in metadata', async () => {
    const m = await parsed({ from: customer, to: support, text: 'Thanks!\n\nOn Tue, 1 Dec 2026, Acme Support <support@acme.test> wrote:\n> It ships tomorrow.', messageId: 'q1@example.com', inReplyTo: 'q0@acme.test' });
    expect(m.content).toBe('Thanks!');
    expect(m.metadata.quoted_text).toBe('On Tue, 1 Dec 2026, Acme Support <support@acme.test> wrote:\n> It ships tomorrow.');
  });
});
