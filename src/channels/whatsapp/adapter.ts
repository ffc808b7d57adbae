import type { ChannelAdapter } from '../types';
import { whatsappConfigSchema, WhatsappConfig, WHATSAPP_SECRET_FIELDS } from './config';

/** Config only for now: no `send`, so replies on these channels fail with a clear reason (activities/outbound.ts). */
export const whatsappAdapter: ChannelAdapter<WhatsappConfig> = {
  type: 'whatsapp',
  config: whatsappConfigSchema,
  secretFields: WHATSAPP_SECRET_FIELDS,
  setup: 'console',
};
