import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { SecretBox } from '../crypto/secret-box';
import type { Db } from '../db/knex';
import type { ConversationSignaller } from '../temporal/conversations';
import type { Logger } from '../log';
import type { ChannelLookup } from '../inbound/channel-lookup';
import type { ApiMetrics } from '../metrics/api-metrics';
import type { Role } from '../db/users';
import type { EventHub } from '../events/hub';

/** What every route handler can reach; built once per process. */
export interface AppDeps {
  db: Db;
  secrets: SecretBox;
  temporal: Client;
  signaller: ConversationSignaller;
  config: Pick<
    Config,
    | 'PUBLIC_BASE_URL'
    | 'PINGBACK_ADMIN_TOKEN'
    | 'TEMPORAL_TASK_QUEUE'
    // Platform API locations: the attachments route fetches media through the channel's adapter.
    | 'TELEGRAM_API_BASE_URL'
    | 'META_GRAPH_BASE_URL'
    | 'META_GRAPH_VERSION'
    | 'X_API_BASE_URL'
    | 'EMAIL_ALLOWED_HOSTS'
    | 'MAIL_AUTH_DNS_SERVERS'
    | 'MAIL_FILES_SENDER_MIB_PER_DAY'
    | 'MAIL_FILES_CHANNEL_MIB_PER_DAY'
    | 'MAIL_FILES_RETENTION_DAYS'
    | 'WEBCHAT_MESSAGES_PER_MINUTE'
    | 'WEBCHAT_VISITOR_TOKEN_DAYS'
    | 'WEBCHAT_VISITORS_PER_MINUTE'
    | 'WEBCHAT_UPLOADS_PER_MINUTE'
    | 'WEBCHAT_ATTACHMENT_MAX_BYTES'
    | 'TRUSTED_PROXY_HOPS'
    | 'SESSION_IDLE_HOURS'
    | 'SESSION_MAX_DAYS'
    | 'LOGIN_ATTEMPTS_PER_EMAIL'
    | 'LOGIN_ATTEMPTS_PER_ADDRESS'
    | 'ALLOWED_ORIGINS'
    | 'EVENTS_RETENTION_HOURS'
    | 'TEMPORAL_UI_URL'
    | 'TEMPORAL_NAMESPACE'
  >;
  log: Logger;
  /** Channel reads for the webhook ingress (cached; see ChannelLookup). */
  channelLookup: ChannelLookup;
  /** The event stream's reader (GET /api/events); absent, the route answers 503. */
  events?: EventHub;
  /** The api's own metrics, when API_METRICS_ADDRESS serves them. */
  metrics?: ApiMetrics;
}

/** Who is asking: a signed-in user (by session cookie) or an integration (by API key). */
export type Principal =
  | { kind: 'user'; userId: string; sessionId: string; name: string; email: string; csrfToken: string }
  | { kind: 'api_key'; keyId: string; name: string };

export interface AuthState {
  accountId: string;
  /** API keys act for the whole account, as an admin does. */
  role: Role;
  principal: Principal;
}
