import busboy from 'busboy';
import type { Context } from 'koa';
import { AppError } from '../../errors';

/**
 * The raw mail out of a provider's multipart/form-data post: SendGrid Inbound Parse with
 * "POST the raw, full MIME message" sends it as the `email` field, Mailgun's routes to a URL
 * ending in "mime" as `body-mime`. The other fields (their parsed copies, spam scores) are
 * skipped: PingBack reads the mail itself, as it does from a mailbox.
 */
const MAIL_FIELDS = ['email', 'body-mime'];

export function readMailFromForm(ctx: Context, maxBytes: number, maxFormBytes: number): Promise<Buffer> {
  if (Number(ctx.get('content-length') || 0) > maxFormBytes) {
    return Promise.reject(new AppError(413, 'payload_too_large', `request body is over ${maxFormBytes} bytes`));
  }
  return new Promise((resolve, reject) => {
    let mail: Buffer | undefined;
    let tooLarge = false;
    let form: busboy.Busboy;
    try {
      form = busboy({ headers: ctx.req.headers, limits: { fieldSize: maxBytes, fileSize: maxBytes, fields: 200, files: 20 } });
    } catch {
      return reject(new AppError(400, 'invalid_form', 'multipart/form-data without a boundary'));
    }
    form.on('field', (name, value, info) => {
      if (info.valueTruncated) tooLarge = true;
      else if (MAIL_FIELDS.includes(name) && !mail) mail = Buffer.from(value, 'utf8');
    });
    // Some senders attach the mail as a file part of the same name.
    form.on('file', (name, stream) => {
      if (!MAIL_FIELDS.includes(name) || mail) return void stream.resume();
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => (tooLarge = true));
      stream.on('close', () => {
        if (!tooLarge) mail = Buffer.concat(chunks);
      });
    });
    form.on('error', () => reject(new AppError(400, 'invalid_form', 'the multipart/form-data body is malformed')));
    form.on('close', () => {
      if (tooLarge) return reject(new AppError(413, 'payload_too_large', `the mail is over ${maxBytes} bytes`));
      if (!mail) return reject(new AppError(400, 'invalid_email', 'the form has no "email" field (SendGrid, raw mode) or "body-mime" field (Mailgun) holding the raw mail'));
      resolve(mail);
    });
    // The form as a whole is bounded too (busboy bounds each part), chunked bodies included.
    let total = 0;
    ctx.req.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxFormBytes) {
        ctx.req.unpipe(form);
        ctx.req.resume();
        reject(new AppError(413, 'payload_too_large', `request body is over ${maxFormBytes} bytes`));
      }
    });
    ctx.req.pipe(form);
  });
}
