/**
 * The test suite's mail provider as an offline sandbox (`npm run sandbox:mail`): an SMTP
 * submission server and an IMAP mailbox on loopback, over TLS with the test certificate, and a
 * small HTTP API to play the customer and to see what PingBack sent. Dev only: it needs the
 * dev dependencies (smtp-server, hoodiecrow-imap).
 */
import http from 'node:http';
import { bareMessageId } from '../src/channels/email/threading';
import { readBodyBytes, sendJson } from '../src/sandbox/http';
import { composeMail, MAIL_TLS_CA_FILE, MailProvider, SMTP_FAILURES, type SmtpFailure } from '../test/helpers/mail-provider';

const port = Number(process.env.SANDBOX_MAIL_PORT ?? 8084);
const smtpPort = Number(process.env.SANDBOX_SMTP_PORT ?? 8025);
const imapPort = Number(process.env.SANDBOX_IMAP_PORT ?? 8143);

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBodyBytes(req)).toString('utf8');
  return text ? JSON.parse(text) : {};
}

async function main() {
  const mail = await MailProvider.start({ smtpPort, imapPort });
  let n = 0;
  const server = http.createServer(async (req, res) => {
    const send = (status: number, body: unknown) => sendJson(res, status, body);
    try {
      const url = new URL(req.url ?? '/', 'http://sandbox');
      if (req.method === 'POST' && url.pathname === '/_sandbox/customer-mail') {
        const b = await readJson(req);
        if (typeof b.from !== 'string' || typeof b.text !== 'string') return send(400, { error: { code: 'invalid_request', message: 'from and text are required' } });
        const messageId = `sandbox.${Date.now()}.${++n}@customer.example`;
        const raw = await composeMail({
          from: typeof b.name === 'string' ? `"${b.name.replace(/["\\\r\n]/g, '')}" <${b.from}>` : b.from,
          to: mail.user,
          subject: typeof b.subject === 'string' ? b.subject : '(no subject)',
          text: b.text,
          messageId,
          ...(typeof b.in_reply_to === 'string' ? { inReplyTo: bareMessageId(b.in_reply_to), references: [bareMessageId(b.in_reply_to)] } : {}),
        });
        mail.deliver(raw);
        return send(201, { message_id: messageId, delivered_to: mail.user });
      }
      if (req.method === 'GET' && url.pathname === '/_sandbox/sent') {
        return send(200, mail.submitted.map((m) => ({ to: m.to, subject: m.parsed.subject, message_id: m.parsed.messageId, in_reply_to: m.parsed.inReplyTo, text: m.parsed.text?.trim() })));
      }
      if (req.method === 'POST' && url.pathname === '/_sandbox/fail-next') {
        const { kind } = await readJson(req);
        if (!SMTP_FAILURES.includes(kind as SmtpFailure)) return send(400, { error: { code: 'invalid_request', message: `kind must be one of ${SMTP_FAILURES.join(', ')}` } });
        mail.failNext(kind as SmtpFailure);
        return send(200, { ok: true, next_submission: kind });
      }
      send(404, { error: { code: 'not_found', message: 'POST /_sandbox/customer-mail, GET /_sandbox/sent, POST /_sandbox/fail-next' } });
    } catch (err) {
      send(400, { error: { code: 'invalid_request', message: (err as Error).message } });
    }
  });
  server.listen(port, '127.0.0.1');
  console.log(`Mail sandbox: SMTP 127.0.0.1:${smtpPort}, IMAP 127.0.0.1:${imapPort} (STARTTLS; start PingBack with EMAIL_TLS_CA_FILE=${MAIL_TLS_CA_FILE} EMAIL_ALLOWED_HOSTS=127.0.0.1)`);
  console.log(`Control: http://127.0.0.1:${port}/_sandbox/customer-mail, /_sandbox/sent, /_sandbox/fail-next`);
  console.log(`Channel config: ${JSON.stringify(mail.channelConfig('imap', { poll_interval_seconds: 5 }))}`);
  const stop = async () => {
    server.close();
    await mail.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
