import { z } from 'zod';
import { pollIntervalSeconds, text } from '../config-fields';

/**
 * Not trimmed: a password may legitimately begin or end with a space, and
 * trimming it would turn a correct password into a login failure nobody can explain.
 */
const password = z
  .string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string') })
  .min(1, 'must not be empty')
  .max(1024, 'must be at most 1024 characters');

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`, 'i');
const host = (example: string) =>
  text(253).regex(HOST, `must be a server name like ${example}, without a scheme or port (the port goes in "port")`);

const port = z
  .number({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a number, e.g. 993') })
  .int('must be a whole number')
  .min(1, 'must be between 1 and 65535')
  .max(65535, 'must be between 1 and 65535');

/**
 * `secure: true` means TLS from the first byte (IMAP 993, SMTP 465); `false` means the
 * connection starts plain and is upgraded with STARTTLS (IMAP 143, SMTP 587 or 25).
 * Getting this wrong for a well-known port only shows up later as a hanging or
 * garbled connection, so say it now.
 */
function checkTls(implicitTlsPorts: number[], startTlsPorts: number[]) {
  return (cfg: { port: number; secure: boolean }, ctx: z.RefinementCtx) => {
    if (cfg.secure && startTlsPorts.includes(cfg.port)) {
      ctx.addIssue({
        code: 'custom',
        path: ['secure'],
        message: `port ${cfg.port} uses STARTTLS: set "secure": false, or use port ${implicitTlsPorts[0]} with "secure": true`,
      });
    }
    if (!cfg.secure && implicitTlsPorts.includes(cfg.port)) {
      ctx.addIssue({ code: 'custom', path: ['secure'], message: `port ${cfg.port} expects TLS from the start: set "secure": true` });
    }
  };
}

const imapInboundSchema = z
  .object({
    method: z.literal('imap'),
    host: host('imap.example.com'),
    port,
    secure: z.boolean({ error: 'must be true or false' }).default(true),
    user: text(320),
    password,
    mailbox: text(255).default('INBOX'),
    poll_interval_seconds: pollIntervalSeconds(),
  })
  .strict()
  .superRefine(checkTls([993], [143]));

/** The mail provider (or a forwarding rule) posts each message to the channel's callback URL. */
const webhookInboundSchema = z.object({ method: z.literal('webhook') }).strict();

const smtpSchema = z
  .object({
    host: host('smtp.example.com'),
    port,
    secure: z.boolean({ error: 'must be true or false' }).default(true),
    user: text(320),
    password,
  })
  .strict()
  .superRefine(checkTls([465], [587, 25]));

export const emailConfigSchema = z
  .object({
    /** The address customers write to. */
    address: text(254).pipe(z.email('must be an email address like support@example.com')),
    inbound: z.discriminatedUnion('method', [imapInboundSchema, webhookInboundSchema], {
      error: (iss) =>
        iss.code === 'invalid_union'
          ? 'must be "imap" (PingBack fetches the mailbox) or "webhook" (your provider posts each message)'
          : iss.input === undefined
            ? 'is required: {"method": "imap", …} or {"method": "webhook"}'
            : undefined,
    }),
    smtp: smtpSchema,
    /**
     * Refuse mail that fails DMARC where its domain asks receivers to (a quarantine or reject
     * policy): set aside, not in the inbox. Otherwise such mail is shown as not verified.
     */
    refuse_dmarc_failures: z
      .boolean({ error: 'must be true or false' })
      .optional()
      .describe("Set aside mail that fails DMARC where the sender's domain asks to reject or quarantine such mail; otherwise it is shown as not verified."),
    // One line: it goes into the From header, where a line break would start a new header.
    from_name: text(100)
      .regex(/^[^\r\n]*$/, 'must be on one line')
      .optional(),
  })
  .strict();
export type EmailConfig = z.infer<typeof emailConfigSchema>;

/** `inbound.password` exists only when inbound.method is "imap"; masking skips absent paths. */
export const EMAIL_SECRET_FIELDS: readonly string[] = ['inbound.password', 'smtp.password'];

/**
 * Whose mailbox inbound reads: a change of server, login or folder is another mailbox, whose
 * UIDs mean nothing against the old cursor (channel_platform_state starts it afresh).
 */
export function emailAccountId(cfg: EmailConfig): string {
  return cfg.inbound.method === 'imap' ? `imap://${cfg.inbound.user}@${cfg.inbound.host}:${cfg.inbound.port}/${cfg.inbound.mailbox}` : `webhook:${cfg.address}`;
}
