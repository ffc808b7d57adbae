import type { ChannelAdapter } from '../types';
import { xConfigSchema, XConfig, X_SECRET_FIELDS } from './config';

/** Config only for now: no `send`, so replies on these channels fail with a clear reason (activities/outbound.ts). */
export const xAdapter: ChannelAdapter<XConfig> = {
  type: 'x',
  config: xConfigSchema,
  secretFields: X_SECRET_FIELDS,
  setup: 'console',
};
