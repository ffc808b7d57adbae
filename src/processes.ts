import http from 'node:http';
import type { Client } from '@temporalio/client';
import { createApp } from './api/app';
import { Config, secretBoxFrom } from './config';
import type { SecretBox } from './crypto/secret-box';
import { createDb, Db } from './db/knex';
import { startSweeper } from './db/sweeper';
import { ignoredEventsSweep } from './db/ignored-events';
import { mailFilesSweep, storedMediaTotals, unlinkedMediaSweep } from './db/stored-media';
import { EventHub, eventsSweep } from './events/hub';
import { endedSessionsSweep, stillAllowed } from './auth/sessions';
import type { Logger } from './log';
import { createTemporalClient } from './temporal/client';
import { temporalConnectionOptions } from './temporal/connection-options';
import { conversationSignaller } from './temporal/conversations';
import { installWorkerRuntime, WorkerGroup } from './temporal/worker';
import { serveWorkerHealth } from './temporal/worker-health';
import { reconcilePollers } from './temporal/pollers';
import { createApiMetrics } from './metrics/api-metrics';
import { processRegistry, serveMetrics } from './metrics/process-metrics';
import { startTracing } from './telemetry/tracing';

export interface Running {
  stop(): Promise<void>;
}

export function connectDeps(config: Config) {
  const secrets = secretBoxFrom(config);
  const db = createDb(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX });
  const temporal = createTemporalClient({ connection: temporalConnectionOptions(config), namespace: config.TEMPORAL_NAMESPACE, secrets, tracing: Boolean(config.OTEL_EXPORTER_OTLP_ENDPOINT) });
  return { db, temporal, secrets };
}

export async function startApi(
  config: Config,
  log: Logger,
  deps: { db: Db; temporal: Client; secrets: SecretBox },
): Promise<Running & { url: string; metricsUrl?: string }> {
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; stopped last, so the last requests' spans go out.
  const stopTracing = startTracing('pingback-api', config, log);
  const metrics = config.API_METRICS_ADDRESS ? createApiMetrics() : undefined;
  metrics?.countStorage(() => storedMediaTotals(deps.db));
  metrics?.countChannels(async () =>
    (await deps.db('channels').where({ is_active: true }).groupBy('type', 'status').select('type', 'status').count<Array<{ type: string; status: string; n: string }>>({ n: '*' })).map((r) => ({
      type: r.type,
      status: r.status,
      channels: Number(r.n),
    })),
  );
  const signaller = conversationSignaller(deps.temporal, config.TEMPORAL_TASK_QUEUE, config.TEMPORAL_SIGNAL_TIMEOUT_MS, metrics?.signal, config.CONVERSATION_QUIET_END_HOURS * 3_600_000);
  const policy = { idleHours: config.SESSION_IDLE_HOURS, maxDays: config.SESSION_MAX_DAYS };
  const events = new EventHub(deps.db, config.DATABASE_URL, log, { stillAllowed: (owners) => stillAllowed(deps.db, policy, owners) });
  await events.start().catch(async (err) => {
    await stopTracing();
    throw err;
  });
  const app = createApp({ ...deps, signaller, config, log, metrics, events });
  const metricsServer = metrics ? await serveMetrics(config.API_METRICS_ADDRESS!, metrics.registry) : undefined;
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, resolve);
  }).catch(async (err) => {
    await metricsServer?.stop();
    await events.close();
    await stopTracing();
    throw err;
  });
  const { port } = server.address() as { port: number };
  const host = config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST;
  const sweeper = startSweeper(deps.db, log, [
    unlinkedMediaSweep,
    eventsSweep(config.EVENTS_RETENTION_HOURS),
    endedSessionsSweep(config.SESSION_IDLE_HOURS),
    ignoredEventsSweep(config.IGNORED_EVENTS_RETENTION_DAYS),
    mailFilesSweep(config.MAIL_FILES_RETENTION_DAYS),
  ]);

  return {
    url: `http://${host}:${port}`,
    metricsUrl: metricsServer?.url,
    async stop() {
      const swept = sweeper.stop();
      app.shutdown();
      // Open event streams end, so the server can close: it takes no new connection, idle
      // keep-alive ones close now, and requests in flight get API_SHUTDOWN_GRACE_MS to finish.
      await events.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = setTimeout(() => server.closeAllConnections(), config.API_SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(deadline);
      await metricsServer?.stop();
      await swept;
      await stopTracing();
    },
  };
}

export async function startWorker(config: Config, log: Logger, deps: { db: Db; temporal: Client; secrets: SecretBox }): Promise<Running> {
  const coreMetricsUrl = await installWorkerRuntime(config, log);
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; before the workers, which take its interceptors and sinks.
  const stopTracing = startTracing('pingback-worker', config, log);
  // Up before the SDK workers, so /livez answers while they connect (and /readyz says they are not ready yet).
  let workers: WorkerGroup | undefined;
  const health = config.WORKER_METRICS_ADDRESS ? await serveWorkerHealth(config.WORKER_METRICS_ADDRESS, { workers: () => workers, temporal: deps.temporal, db: deps.db, coreMetricsUrl: coreMetricsUrl!, registry: processRegistry() }) : undefined;
  try {
    workers = await WorkerGroup.create({ config, ...deps });
  } catch (err) {
    await health?.stop();
    await stopTracing();
    throw err;
  }
  const group = workers;
  const done = group.run().catch((err) => {
    log.error('worker stopped with an error', { error: String(err) });
    process.exitCode = 1;
  });
  log.info('worker polling', {
    task_queue: config.TEMPORAL_TASK_QUEUE,
    temporal: config.TEMPORAL_ADDRESS,
    instances: group.size,
    ...(health ? { metrics: `${health.url}/metrics`, probes: [`${health.url}/livez`, `${health.url}/readyz`] } : {}),
  });
  // Every polling channel's poller running, of this version's type (see reconcilePollers); in the background, and given up on at stop.
  let stopping = false;
  void reconcilePollers({ client: deps.temporal, db: deps.db, secrets: deps.secrets, log }, config.TEMPORAL_TASK_QUEUE, {}, () => stopping).then(
    (r) => (r.started.length || r.replaced.length) && log.info('pollers reconciled', { started: r.started, replaced: r.replaced }),
    (err: unknown) => log.warn('pollers not reconciled; the next worker start tries again', { error: String(err) }),
  );
  return {
    async stop() {
      // The SDK already begins shutting down on SIGINT/SIGTERM by itself.
      stopping = true;
      group.shutdown();
      await done;
      await group.close();
      await health?.stop();
      // The workflows' and activities' last spans, flushed once the workers have stopped.
      await stopTracing();
    },
  };
}

/** Runs a long-lived process until SIGINT/SIGTERM, then stops it cleanly. */
export async function runUntilSignal(startFn: () => Promise<Running>): Promise<void> {
  const running = await startFn();
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await running.stop();
}
