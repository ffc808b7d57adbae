/** The URL a platform posts to for one channel; shown in the channel's settings. */
export function callbackUrl(publicBaseUrl: string, type: string, channelId: string): string {
  return `${publicBaseUrl.replace(/\/$/, '')}/webhooks/${type}/${channelId}`;
}
