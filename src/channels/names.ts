/**
 * The channel types and what people call them, without zod: the dashboard imports this and
 * ships none of the server's validation code.
 */
export const CHANNEL_TYPES = ['webchat', 'email', 'whatsapp', 'telegram', 'instagram', 'x'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** The dashboard's labels and its channel icons' accessible names. */
export const CHANNEL_DISPLAY_NAMES: Record<ChannelType, string> = {
  webchat: 'Web chat',
  email: 'Email',
  whatsapp: 'WhatsApp',
  telegram: 'Telegram',
  instagram: 'Instagram',
  x: 'X',
};
