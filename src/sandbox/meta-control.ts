/**
 * The Meta fake's control API under /_sandbox/, so a person can drive it with curl
 * (see docs/channels/whatsapp.md, "Try it offline"). Loopback only, so no auth.
 */
import type http from 'node:http';
import type { MetaFake, StatusStep } from './meta';
import { IG_KINDS, IgKind, WA_KINDS, WaKind } from './meta-customer';
import { META_FAILURES, MetaFailure } from './meta-payloads';

export async function handleControl(fake: MetaFake, url: URL, raw: Buffer, res: http.ServerResponse): Promise<void> {
  let body: Record<string, unknown> = {};
  try {
    body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
  } catch {
    return reply(res, 400, { error: 'body must be JSON' });
  }
  const str = (k: string) => (typeof body[k] === 'string' && body[k] !== '' ? (body[k] as string) : undefined);
  const need = (...keys: string[]) => {
    const missing = keys.filter((k) => !str(k));
    if (missing.length) throw new BadRequest(`${missing.join(', ')} required`);
  };
  try {
    switch (url.pathname) {
      case '/_sandbox/whatsapp/numbers':
        need('phone_number_id', 'access_token', 'app_secret');
        return reply(res, 200, fake.addWhatsappNumber({
          phoneNumberId: str('phone_number_id')!, accessToken: str('access_token')!, appSecret: str('app_secret')!,
          displayPhoneNumber: str('display_phone_number'),
        }));
      case '/_sandbox/whatsapp/templates':
        // {"waba_id", "name", "language", "components": [{"type": "BODY", "text": "Hi {{1}}"}]}: an approved template.
        need('waba_id', 'name', 'language');
        fake.addTemplate(str('waba_id')!, { name: str('name')!, language: str('language')!, components: Array.isArray(body.components) ? body.components : [] });
        return reply(res, 200, { ok: true });
      case '/_sandbox/instagram/accounts':
        need('page_id', 'access_token', 'app_secret');
        return reply(res, 200, fake.addInstagramAccount({
          pageId: str('page_id')!, accessToken: str('access_token')!, appSecret: str('app_secret')!, igAccountId: str('instagram_account_id'),
        }));
      case '/_sandbox/subscribe':
        need('id', 'callback_url', 'verify_token');
        return reply(res, 200, await fake.subscribe(str('id')!, str('callback_url')!, str('verify_token')!));
      case '/_sandbox/whatsapp/customer-message': {
        need('phone_number_id', 'from');
        const kind = (str('kind') ?? 'text') as WaKind;
        if (!WA_KINDS.includes(kind)) throw new BadRequest(`kind must be one of ${WA_KINDS.join('|')}`);
        const r = await fake.customerSendsWhatsapp(str('phone_number_id')!, {
          from: str('from')!, name: str('name'), kind, text: str('text'), replyTo: str('reply_to'), reactTo: str('react_to'), emoji: str('emoji'),
        });
        return reply(res, 200, r);
      }
      case '/_sandbox/instagram/customer-message': {
        need('id', 'from');
        const kind = (str('kind') ?? 'text') as IgKind;
        if (!IG_KINDS.includes(kind)) throw new BadRequest(`kind must be one of ${IG_KINDS.join('|')}`);
        return reply(res, 200, await fake.customerSendsInstagram(str('id')!, { from: str('from')!, kind, text: str('text'), target: str('target') }));
      }
      case '/_sandbox/whatsapp/statuses': {
        need('message_id');
        const steps = (Array.isArray(body.statuses) ? body.statuses : ['delivered', 'read']) as StatusStep[];
        return reply(res, 200, await fake.sendStatuses(str('message_id')!, steps));
      }
      case '/_sandbox/fail-next': {
        const kind = str('kind') as MetaFailure;
        if (!META_FAILURES.includes(kind)) throw new BadRequest(`kind must be one of ${META_FAILURES.join('|')}`);
        const on = str('on') === 'media' ? 'media' : 'messages';
        fake.failNext(kind, { times: body.times === undefined ? 1 : Number(body.times), on });
        return reply(res, 200, { ok: true });
      }
      case '/_sandbox/advance-clock':
        fake.advanceClock(Number(body.seconds ?? 0) * 1000);
        return reply(res, 200, { now: new Date(fake.now()).toISOString() });
      case '/_sandbox/expire-token':
        need('access_token');
        fake.expireToken(str('access_token')!);
        return reply(res, 200, { ok: true });
      case '/_sandbox/sent':
        // Files as their kind, name, type and size: the bytes stay here.
        return reply(res, 200, fake.sentMessages({ from: url.searchParams.get('from') ?? undefined, to: url.searchParams.get('to') ?? undefined }).map(({ file, ...m }) => (file ? { ...m, file: { kind: file.kind, name: file.name, type: file.type, size: file.size } } : m)));
      default:
        return reply(res, 404, { error: 'unknown sandbox endpoint' });
    }
  } catch (err) {
    return reply(res, err instanceof BadRequest ? 400 : 409, { error: (err as Error).message });
  }
}

class BadRequest extends Error {}

export function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
