import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { SecretBox } from '../crypto/secret-box';
import type { Db } from '../db/knex';
import type { ConversationSignaller } from '../temporal/conversations';
import type { Logger } from '../log';

/** What every route handler can reach; built once per process. */
export interface AppDeps {
  db: Db;
  secrets: SecretBox;
  temporal: Client;
  signaller: ConversationSignaller;
  config: Pick<Config, 'PUBLIC_BASE_URL' | 'PINGBACK_ADMIN_TOKEN' | 'TEMPORAL_TASK_QUEUE'>;
  log: Logger;
}

export interface AuthState {
  accountId: string;
}
