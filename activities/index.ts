import type { Client } from '@temporalio/client';
import type { AdapterContext } from '../src/channels/types';
import type { SecretBox } from '../src/crypto/secret-box';
import type { Db } from '../src/db/knex';
import { makeChannelActivities } from './channels';
import { makePersistInbound } from './messages';
import { makeOutboundActivities } from './outbound';
import { makePollerActivities } from './poller';
import { makePersistMessageStatuses } from './statuses';
import { makeConversationActivities } from './conversations';

export interface ActivityDeps {
  db: Db;
  secrets: SecretBox;
  adapterContext: AdapterContext;
  publicBaseUrl: string;
  temporal?: Client;
  parkedReplyMaxAgeMs?: number;
  /** CONVERSATION_QUIET_END_HOURS, for conversations a poller starts. */
  conversationQuietEndMs?: number;
}

/** Activities are made over their dependencies; the worker passes real ones, tests may pass others. */
export function createActivities(deps: ActivityDeps) {
  return {
    persistInbound: makePersistInbound(deps.db),
    persistMessageStatuses: makePersistMessageStatuses(deps.db),
    ...makeConversationActivities(deps.db),
    ...makeOutboundActivities(deps),
    ...makeChannelActivities(deps),
    ...makePollerActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
