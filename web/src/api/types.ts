/**
 * The API's shapes, straight from the server's zod schemas (type imports only: nothing of the
 * server is bundled). What has no schema yet is written here once, next to its route.
 */
export type {
  ConversationItem,
  ConversationStatus,
  TimelineEntry,
  InboxEvent,
  ChannelSummary,
  Activity,
  Author,
  Counts,
  Me,
  User,
} from '../../../src/inbox/schemas';
export { CONVERSATION_STATUSES, EVENT_TYPES } from '../../../src/inbox/constants';
export { CHANNEL_DISPLAY_NAMES, CHANNEL_TYPES, type ChannelType } from '../../../src/channels/names';
import type { ChannelType } from '../../../src/channels/names';
import type { ChannelSummary } from '../../../src/inbox/schemas';
import type { ChannelTypeInfo as ServerChannelTypeInfo } from '../../../src/api/channel-types';
export type { ApiKey } from '../../../src/db/accounts';

/** GET /api/channels (admins see the config, secrets masked). */
export interface Channel extends ChannelSummary {
  config?: Record<string, unknown>;
  setup?: 'api' | 'console' | 'none';
  callback_url?: string;
  verify_token?: string;
  created_at?: string;
}

/** GET /api/channel-types: each type's config schema as the form reads it. */
export type ChannelTypeInfo = Omit<ServerChannelTypeInfo, 'config_schema'> & { config_schema: JsonSchema };

export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  enum?: string[];
  const?: unknown;
  default?: unknown;
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  pattern?: string;
  description?: string;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}
