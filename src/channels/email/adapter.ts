import type { ChannelAdapter } from '../types';
import { emailConfigSchema, EmailConfig, EMAIL_SECRET_FIELDS } from './config';

/** Config only for now: no `send`, so replies on these channels fail with a clear reason (activities/outbound.ts). */
export const emailAdapter: ChannelAdapter<EmailConfig> = {
  type: 'email',
  config: emailConfigSchema,
  secretFields: EMAIL_SECRET_FIELDS,
  setup: 'console',
};
