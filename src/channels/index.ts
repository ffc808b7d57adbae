import { AppError } from '../errors';
import { CHANNEL_DISPLAY_NAMES, CHANNEL_TYPES, type ChannelAdapter, type ChannelType, type WebhookCapability } from './types';
import { emailAdapter } from './email/adapter';
import { instagramAdapter } from './instagram/adapter';
import { telegramAdapter } from './telegram/adapter';
import { webchatAdapter } from './webchat/adapter';
import { whatsappAdapter } from './whatsapp/adapter';
import { xAdapter } from './x/adapter';

/**
 * channel_type → adapter. `satisfies` makes a channel type without an adapter a
 * compile error; adding one is a folder and a line here. Capabilities a platform
 * does not have (`registerWebhook`, `fetchMedia`) are simply absent from its adapter.
 */
export const adapters = {
  webchat: webchatAdapter,
  email: emailAdapter,
  whatsapp: whatsappAdapter,
  telegram: telegramAdapter,
  instagram: instagramAdapter,
  x: xAdapter,
} satisfies Record<ChannelType, ChannelAdapter<any>>;

/** 422 unless the channel's adapter can send files in replies. */
export function requireFileReplies(channelType: ChannelType): void {
  if (!repliesWithFiles(channelType)) {
    throw new AppError(422, 'attachments_not_supported', `replies on ${channelType} cannot carry files yet`);
  }
}

export const repliesWithFiles = (channelType: ChannelType): boolean => Boolean(adapterFor(channelType).repliesWithFiles || adapterFor(channelType).filesOut);

/** 422 naming the file and the limit when a reply's files are more than its platform takes (see FilesOut). */
export function checkFilesOut(channelType: ChannelType, files: Array<{ fileName?: string; size?: number; mimeType?: string }>): void {
  const rules = adapterFor(channelType).filesOut;
  if (!rules || files.length === 0) return;
  const mib = (n: number) => `${Math.round((n / 1024 ** 2) * 10) / 10} MiB`;
  const refuse = (message: string) => {
    throw new AppError(422, 'file_not_accepted', `${message} (${rules.source})`, { fields: [{ path: 'attachments', message }] });
  };
  const name = CHANNEL_DISPLAY_NAMES[channelType];
  if (files.length > rules.maxFiles) refuse(`${name} takes at most ${rules.maxFiles} files with a reply; this one has ${files.length}`);
  for (const f of files) {
    const why = rules.refuses?.({ contentType: f.mimeType ?? 'application/octet-stream', size: f.size ?? 0 });
    if (why) refuse(`${f.fileName ?? 'a file'}: ${why}`);
    if ((f.size ?? 0) > rules.maxFileBytes) refuse(`${f.fileName ?? 'a file'} is ${mib(f.size ?? 0)}; ${name} takes files up to ${mib(rules.maxFileBytes)}`);
  }
  const total = files.reduce((n, f) => n + (f.size ?? 0), 0);
  if (rules.maxTotalBytes !== undefined && total > rules.maxTotalBytes) refuse(`these files come to ${mib(total)}; ${name} takes up to ${mib(rules.maxTotalBytes)} with one reply`);
}

export function adapterFor(type: ChannelType): ChannelAdapter<unknown> {
  // The type rules out a miss, but `type` often comes from a database row.
  if (!Object.hasOwn(adapters, type)) throw new Error(`unknown channel type ${JSON.stringify(type)}`);
  return adapters[type];
}

/**
 * The URL a platform posts to for one channel; shown in the channel's settings. For the
 * web widget, PingBack's own platform, it is the base of the widget API the embed uses.
 */
export function callbackUrl(publicBaseUrl: string, type: ChannelType, channelId: string): string {
  return publicBaseUrl.replace(/\/$/, '') + adapterFor(type).callbackPath(channelId);
}

/** Every channel type that platforms post to, with its webhook: the ingress serves them, the OpenAPI document describes them. */
export const webhookChannels = (): Array<{ type: ChannelType; hook: WebhookCapability<unknown> }> =>
  CHANNEL_TYPES.flatMap((type) => {
    const hook = adapterFor(type).webhook;
    return hook ? [{ type, hook }] : [];
  });
