import { NativeConnection, Worker, WorkerOptions } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { createActivities } from '../../activities';
import { adapterContextFrom } from '../channels/adapter-context';
import type { Config } from '../config';
import type { SecretBox } from '../crypto/secret-box';
import type { Db } from '../db/knex';
import { preloadModules, workflowsPath } from './workflow-bundle';

export interface WorkerDeps {
  config: Pick<
    Config,
    | 'TEMPORAL_ADDRESS'
    | 'TEMPORAL_NAMESPACE'
    | 'TEMPORAL_TASK_QUEUE'
    | 'TELEGRAM_API_BASE_URL'
    | 'META_GRAPH_BASE_URL'
    | 'META_GRAPH_VERSION'
    | 'X_API_BASE_URL'
    | 'PUBLIC_BASE_URL'
    | 'WORKER_MAX_CONCURRENT_ACTIVITIES'
    | 'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS'
    | 'WORKER_MAX_CACHED_WORKFLOWS'
  >;
  db: Db;
  secrets: SecretBox;
  temporal: Client;
  /** A prebuilt workflow bundle (tests build one per suite instead of per file). */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

export async function createWorker({ config, db, secrets, temporal, workflowBundle }: WorkerDeps): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath, bundlerOptions: { preloadModules } }),
    activities: createActivities({
      db,
      secrets,
      temporal,
      publicBaseUrl: config.PUBLIC_BASE_URL,
      adapterContext: adapterContextFrom(config),
    }),
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
  });
  return { worker, connection };
}
