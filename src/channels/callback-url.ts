/**
 * The URL a platform posts to for one channel; shown in the channel's settings. For the
 * web widget, PingBack's own platform, it is the base of the widget API the embed uses.
 */
export function callbackUrl(publicBaseUrl: string, type: string, channelId: string): string {
  const base = publicBaseUrl.replace(/\/$/, '');
  return type === 'webchat' ? `${base}/widget/${channelId}` : `${base}/webhooks/${type}/${channelId}`;
}
