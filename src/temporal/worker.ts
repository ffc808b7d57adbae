import { bundleWorkflowCode, makeTelemetryFilterString, NativeConnection, Runtime, Worker, WorkerOptions } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { IllegalStateError } from '@temporalio/common';
import { createActivities } from '../../activities';
import { adapterContextFrom } from '../channels/adapter-context';
import type { Config } from '../config';
import type { SecretBox } from '../crypto/secret-box';
import type { Db } from '../db/knex';
import fs from 'node:fs';
import net from 'node:net';
import { ConfigError } from '../config';
import { PREBUILT_BUNDLE, PREBUILT_TRACED_BUNDLE } from './build-bundle';
import type { Logger } from '../log';
import { temporalConnectionOptions, type TemporalConnectionSettings } from './connection-options';
import { dataConverterFor } from './payload-codec';
import { requestIdActivityInterceptors } from './request-ids';
import { sdkLevel, sdkLogger } from './sdk-logger';
import { bundleOptions } from './workflow-bundle';
import { workerTracing } from './worker-tracing';
import { workflowSandbox } from './workflow-sandbox';

export interface WorkerDeps {
  config: Pick<
    Config,
    | keyof TemporalConnectionSettings
    | 'TEMPORAL_NAMESPACE'
    | 'TEMPORAL_TASK_QUEUE'
    | 'TELEGRAM_API_BASE_URL'
    | 'META_GRAPH_BASE_URL'
    | 'META_GRAPH_VERSION'
    | 'X_API_BASE_URL'
    | 'EMAIL_ALLOWED_HOSTS'
    | 'MAIL_AUTH_DNS_SERVERS'
    | 'PARKED_REPLY_MAX_AGE_HOURS'
    | 'CONVERSATION_QUIET_END_HOURS'
    | 'PUBLIC_BASE_URL'
    | 'WORKER_INSTANCES'
    | 'WORKER_MAX_CONCURRENT_ACTIVITIES'
    | 'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS'
    | 'WORKER_MAX_CACHED_WORKFLOWS'
    | 'WORKER_STICKY_QUEUE_TIMEOUT_MS'
    | 'WORKER_DEADLOCK_TIMEOUT_MS'
    | 'WORKER_WORKFLOW_STACK_TRACES'
    | 'WORKER_SHUTDOWN_GRACE_MS'
  >;
  db: Db;
  secrets: SecretBox;
  temporal: Client;
  /** A prebuilt workflow bundle (tests build one per suite instead of per file); with traces on, one built with the tracing interceptors. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/**
 * The SDK workers one PingBack worker process runs, all polling the same task queue.
 *
 * Why several: the SDK core's work for every workflow event grows with the number of
 * workflows that one worker keeps cached (`npm run bench:worker-cache`), so a process
 * holding 10,000 conversations spends less CPU per message as four workers caching
 * 2,500 each than as one caching all of them. A conversation sticks to the worker
 * that first ran it, so each holds about its share. The process's limits
 * (WORKER_MAX_*) are divided among them.
 */
export class WorkerGroup {
  private constructor(private readonly members: ReadonlyArray<{ worker: Worker; connection: NativeConnection }>) {}

  static async create({ config, db, secrets, temporal, workflowBundle }: WorkerDeps): Promise<WorkerGroup> {
    const n = config.WORKER_INSTANCES;
    const share = (total: number) => Math.ceil(total / n);
    const activities = createActivities({
      db,
      secrets,
      temporal,
      publicBaseUrl: config.PUBLIC_BASE_URL,
      adapterContext: adapterContextFrom(config),
      parkedReplyMaxAgeMs: config.PARKED_REPLY_MAX_AGE_HOURS * 3_600_000,
      conversationQuietEndMs: config.CONVERSATION_QUIET_END_HOURS * 3_600_000,
    });
    // Traces on (startTracing, OTEL_EXPORTER_OTLP_ENDPOINT): the SDK's OpenTelemetry interceptors and sinks.
    const tracing = workerTracing();
    // Bundled once: every member loads the same code into a V8 context of its own.
    const bundle = workflowBundle ?? (await bundleOnce(tracing !== undefined));
    const members: Array<{ worker: Worker; connection: NativeConnection }> = [];
    try {
      for (let i = 0; i < n; i++) {
        // A connection each: the SDK core refuses a second worker on the same task queue over one client.
        const connection = await NativeConnection.connect(temporalConnectionOptions(config));
        try {
          const worker = await Worker.create({
            connection,
            namespace: config.TEMPORAL_NAMESPACE,
            taskQueue: config.TEMPORAL_TASK_QUEUE,
            workflowBundle: bundle,
            activities,
            dataConverter: dataConverterFor(secrets),
            maxConcurrentActivityTaskExecutions: share(config.WORKER_MAX_CONCURRENT_ACTIVITIES),
            // The SDK would lower slots to the cache size itself, but not when they are given this way.
            maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CACHED_WORKFLOWS > 0
              ? Math.max(2, Math.min(share(config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS), share(config.WORKER_MAX_CACHED_WORKFLOWS)))
              : share(config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS),
            maxCachedWorkflows: share(config.WORKER_MAX_CACHED_WORKFLOWS),
            stickyQueueScheduleToStartTimeout: config.WORKER_STICKY_QUEUE_TIMEOUT_MS,
            // A send in flight at SIGTERM finishes rather than being cut off mid-call (an uncertain send).
            shutdownGraceTime: config.WORKER_SHUTDOWN_GRACE_MS,
            ...workflowSandbox(config),
            // Request ids on activities' log lines (request-ids.ts), and traces when they are on.
            interceptors: { activity: [requestIdActivityInterceptors, ...(tracing?.interceptors?.activity ?? [])] },
            sinks: tracing?.sinks,
          });
          members.push({ worker, connection });
        } catch (err) {
          await connection.close();
          throw err;
        }
      }
    } catch (err) {
      await Promise.all(members.map((m) => m.connection.close()));
      throw err;
    }
    return new WorkerGroup(members);
  }

  get size(): number {
    return this.members.length;
  }

  /** Workflows cached by each member, for tests and diagnostics. */
  cachedWorkflows(): number[] {
    return this.members.map((m) => m.worker.getStatus().numCachedWorkflows);
  }

  /**
   * Runs every member until shutdown. One failing stops the others, so a process never
   * carries on silently with part of its capacity; the error is rethrown.
   */
  async run(): Promise<void> {
    let failure: unknown;
    await Promise.all(
      this.members.map((m) =>
        m.worker.run().catch((err) => {
          failure ??= err;
          this.shutdown();
        }),
      ),
    );
    if (failure) throw failure;
  }

  /** Whether every member is running with its workflow and activity pollers polling (the worker's /readyz). */
  polling(): { ok: boolean; error?: string } {
    for (const [i, m] of this.members.entries()) {
      const st = m.worker.getStatus();
      if (st.runState !== 'RUNNING') return { ok: false, error: `worker ${i + 1} of ${this.members.length} is ${st.runState.toLowerCase()}` };
      if (st.workflowPollerState !== 'POLLING' || st.activityPollerState !== 'POLLING') {
        return { ok: false, error: `worker ${i + 1} of ${this.members.length}: workflow poller ${st.workflowPollerState.toLowerCase()}, activity poller ${st.activityPollerState.toLowerCase()}` };
      }
    }
    return { ok: true };
  }

  /** Begins a graceful shutdown of every member still running; `run()` resolves when all are done. */
  shutdown(): void {
    for (const m of this.members) if (m.worker.getState() === 'RUNNING') m.worker.shutdown();
  }

  async close(): Promise<void> {
    await Promise.all(this.members.map((m) => m.connection.close()));
  }
}

/**
 * The SDK runtime is process-wide and fixed at its first use, so this runs before any worker
 * connects. Its logs (the SDK's own, workflows' and activities', and core's, forwarded) go to
 * PingBack's logger (sdk-logger.ts) at LOG_LEVEL. With WORKER_METRICS_ADDRESS set, the SDK core
 * serves its own metrics (task latencies, sticky cache hits and misses, free slots, activity
 * failures) for Prometheus on a loopback port, which the worker's own server (worker-health.ts)
 * relays at WORKER_METRICS_ADDRESS beside its probes; answers that port's URL. The members share
 * the one endpoint without a label of their own: counters and histograms add up over them,
 * while a gauge (cache size, free slots) shows whichever member reported last.
 */
export async function installWorkerRuntime(config: Pick<Config, 'WORKER_METRICS_ADDRESS' | 'LOG_LEVEL'>, log: Logger): Promise<string | undefined> {
  const port = config.WORKER_METRICS_ADDRESS ? await loopbackPort() : undefined;
  const level = sdkLevel(config.LOG_LEVEL);
  // `npm start` without a Temporal CLI asks the SDK's test server (TestWorkflowEnvironment), which has
  // set the runtime up already: the worker then runs on that one, its lines in the SDK's format.
  try {
    Runtime.install({
      logger: sdkLogger(log),
      telemetryOptions: {
        logging: { filter: makeTelemetryFilterString({ core: level, other: level }), forward: {} },
        // PingBack's own histograms need buckets of their own (core's default ones are milliseconds, from 50).
        ...(port ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${port}`, histogramBucketOverrides: { pingback_send_attempts: SEND_ATTEMPTS_BUCKETS } } } } : {}),
      },
    });
  } catch (err) {
    if (!(err instanceof IllegalStateError)) throw err;
    log.warn('the Temporal SDK runtime was set up before the worker (the SDK test server): its logs and metrics stay as they were');
    return undefined;
  }
  return port ? `http://127.0.0.1:${port}/metrics` : undefined;
}

/** Attempts a reply took (activities/outbound.ts): most go in one; retries every 2 min at most for a day make up to ~720. */
const SEND_ATTEMPTS_BUCKETS = [1, 2, 3, 5, 10, 20, 50, 100, 250, 500, 1000];

/** A loopback port free now (the SDK core binds it itself, a moment later). */
function loopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * The workflow code: from a worker built with `npm run build` (running dist/*.js), the bundle the
 * build made (see build-bundle.ts); from TypeScript sources (tsx, tests), bundled now.
 */
async function bundleOnce(traced: boolean): Promise<WorkerOptions['workflowBundle']> {
  if (__filename.endsWith('.js')) {
    const prebuilt = traced ? PREBUILT_TRACED_BUNDLE : PREBUILT_BUNDLE;
    if (!fs.existsSync(prebuilt)) throw new ConfigError(`the workflow bundle ${prebuilt} is missing: run \`npm run build\`, which makes it`);
    return { codePath: prebuilt };
  }
  return bundleWorkflowCode({ ...bundleOptions({ traced }), logger: Runtime.instance().logger });
}
