import { isIP } from 'node:net';
import fs from 'node:fs';
import { z } from 'zod';
import { parseKey, SecretBox } from './crypto/secret-box';

/**
 * Every environment variable PingBack reads, in one schema. Processes call
 * `loadConfig()` once at start; a bad value stops them with one line that names
 * the variable (see `ConfigError`), never a stack trace.
 */
const port = z.coerce.number().int().min(0).max(65535);
const url = z.string().url();
/** Where a metrics endpoint listens: host:port, the host an IPv6 address in brackets. */
const listenAddress = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9464')
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'port must be at most 65535');

export const configSchema = z.object({
  DATABASE_URL: url.describe('PostgreSQL connection string, e.g. postgres://user@host:5432/pingback'),
  /** Connections each api or worker process keeps to PostgreSQL, at most (the event stream's listener is one more). */
  DATABASE_POOL_MAX: z.coerce.number().int().min(2).max(500).default(20),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('pingback'),
  // A secured cluster or Temporal Cloud, under the variable names the Temporal SDKs' environment configuration uses.
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: z
    .enum(['true', 'false'], { message: 'must be true or false' })
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true')),
  TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().min(1).refine((p) => readablePem(p, 'CERTIFICATE'), 'must be a readable PEM certificate').optional(),
  TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().min(1).refine((p) => readablePem(p, 'PRIVATE KEY'), 'must be a readable PEM private key').optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().min(1).refine((p) => readablePem(p, 'CERTIFICATE'), 'must be a readable PEM file of CA certificates').optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  /** Milliseconds the ingress waits for Temporal to accept a signal before answering 503. */
  TEMPORAL_SIGNAL_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  HOST: z.string().default('0.0.0.0'),
  PORT: port.default(3000),
  /** Reverse proxies in front of the api that append the client's address to X-Forwarded-For (0: none; the socket's address is the client's). */
  TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  /** Where platforms reach this deployment; channel callback URLs are built from it. */
  PUBLIC_BASE_URL: url.default('http://127.0.0.1:3000'),
  /** Bearer token for /admin routes; the admin API is off when it is unset. */
  PINGBACK_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** 32 bytes (64 hex chars or base64) sealing channel credentials at rest; api and worker need it. */
  PINGBACK_ENCRYPTION_KEY: z.string().refine(isKey, 'must be 32 bytes, as 64 hex characters or base64').optional(),
  /** Comma-separated keys that sealed older values, kept readable while keys rotate. */
  PINGBACK_ENCRYPTION_OLD_KEYS: z
    .string()
    .refine((v) => v.split(',').every((k) => isKey(k)), 'each comma-separated key must be 32 bytes, as hex or base64')
    .optional(),
  TELEGRAM_API_BASE_URL: url.default('https://api.telegram.org'),
  /** Graph API for WhatsApp Cloud API and Instagram messaging. */
  META_GRAPH_BASE_URL: url.default('https://graph.facebook.com'),
  META_GRAPH_VERSION: z.string().regex(/^v\d+\.\d+$/, 'must look like v21.0').default('v21.0'),
  X_API_BASE_URL: url.default('https://api.x.com'),
  /** A PEM file of CA certificates to trust, besides the system's, for email channels' SMTP and IMAP servers. */
  EMAIL_TLS_CA_FILE: z
    .string()
    .min(1)
    .refine((p) => readableCertificates(p), 'must be a readable PEM file of CA certificates')
    .optional(),
  /**
   * Mail servers that are not on the public internet which email channels may still use (a
   * self-hosted server beside PingBack): host names, addresses or CIDR ranges, comma-separated.
   * Every other private, loopback, link-local or reserved address is refused.
   */
  EMAIL_ALLOWED_HOSTS: z
    .string()
    .transform((v) => v.split(',').map((h) => h.trim()).filter(Boolean))
    .default([]),
  /**
   * DNS servers (`host` or `host:port`, comma-separated) that mail's SPF, DKIM and DMARC
   * checks ask; unset, the system's resolver. A local validating resolver is the usual choice.
   */
  MAIL_AUTH_DNS_SERVERS: z
    .string()
    .transform((v) => v.split(',').map((h) => h.trim()).filter(Boolean))
    .refine((servers) => servers.every(isDnsServer), 'must be IP addresses, each optionally with a port (10.0.0.2, 10.0.0.2:5353, [2001:db8::1]:53), comma-separated')
    .default([]),
  /** Days a web chat visitor's token lasts unused; the widget gets a renewed one as the visitor comes back. */
  WEBCHAT_VISITOR_TOKEN_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** Messages one web chat visitor may send per minute (across api processes); more get 429. */
  WEBCHAT_MESSAGES_PER_MINUTE: z.coerce.number().int().positive().default(30),
  /** Web chat visitors one address (an IPv6 /64) may start per channel per minute (across api processes). */
  WEBCHAT_VISITORS_PER_MINUTE: z.coerce.number().int().positive().default(20),
  /** Files one web chat visitor may upload per minute (across api processes); more get 429. */
  WEBCHAT_UPLOADS_PER_MINUTE: z.coerce.number().int().positive().default(10),
  /** The largest file a web chat visitor (or an agent, for a web chat reply) may upload, in bytes. PingBack keeps these in PostgreSQL. */
  WEBCHAT_ATTACHMENT_MAX_BYTES: z.coerce.number().int().positive().max(50 * 1024 * 1024, 'must be at most 52428800 (50 MiB)').default(10 * 1024 * 1024),
  /** Hours a dashboard session lasts without use, and days it lasts at most. */
  SESSION_IDLE_HOURS: z.coerce.number().positive().max(24 * 30).default(12),
  SESSION_MAX_DAYS: z.coerce.number().positive().max(365).default(30),
  /** Failed sign-ins allowed per email, and per client address, in 15 minutes (across api processes); more get 429. */
  LOGIN_ATTEMPTS_PER_EMAIL: z.coerce.number().int().positive().default(10),
  LOGIN_ATTEMPTS_PER_ADDRESS: z.coerce.number().int().positive().default(50),
  /**
   * Origins, besides PUBLIC_BASE_URL's and the api's own, whose pages may make changes with a
   * signed-in session (a dashboard served from elsewhere, e.g. Vite's dev server), comma-separated.
   */
  ALLOWED_ORIGINS: z
    .string()
    .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean))
    .pipe(z.array(z.string().url().transform((o) => new URL(o).origin)))
    .default([]),
  /** Hours the event stream keeps events for a client that reconnects (Last-Event-ID); older ones get `reset`. */
  EVENTS_RETENTION_HOURS: z.coerce.number().positive().max(24 * 30).default(24),
  /** Days an event acknowledged but not routed (ignored_events: an inactive channel's, an unreadable one) is kept for operators. */
  IGNORED_EVENTS_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /**
   * Files that come with mail by webhook (no mailbox keeps them, so PingBack does): MiB one
   * sender's mail may leave on a channel a day, MiB all mail may leave on a channel a day,
   * and days a kept file stays before it is deleted (its message stays, saying so).
   */
  MAIL_FILES_SENDER_MIB_PER_DAY: z.coerce.number().int().min(0).max(1024 * 1024).default(100),
  MAIL_FILES_CHANNEL_MIB_PER_DAY: z.coerce.number().int().min(0).max(1024 * 1024).default(1024),
  /** Hours a reply may wait for its channel to be reconnected before it fails instead of going out late (at most a day). */
  PARKED_REPLY_MAX_AGE_HOURS: z.coerce.number().min(0.01).max(24).default(24),
  /** A conversation's run ends after this long with nothing to do; the next signal starts another (0: never). */
  CONVERSATION_QUIET_END_HOURS: z.coerce.number().min(0).max(8760).default(24),
  MAIL_FILES_RETENTION_DAYS: z.coerce.number().int().min(1).max(36500).default(365),
  /** The Temporal Web UI's address, for links to a conversation's workflow in the dashboard (admins); none when unset. */
  TEMPORAL_UI_URL: url.optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** SDK workers per worker process, each caching a share of the conversations (see WorkerGroup). */
  WORKER_INSTANCES: z.coerce.number().int().min(1).max(64).default(4),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().positive().default(100),
  /**
   * Workflow tasks one worker process runs at once. An SDK worker keeps a poll waiting at the
   * server only while it has a free slot, and the server hands a task straight to a waiting poll
   * or else writes it to the task queue's table and reads it back. 40 (the SDK's default, so 10
   * per SDK worker) left no poll waiting whenever the worker lagged behind: see README.
   */
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().positive().default(200),
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().nonnegative().default(10_000),
  /** How long a conversation's next task waits for the worker that has it cached before any worker may take it (and replay it). */
  WORKER_STICKY_QUEUE_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /**
   * Milliseconds a call into the workflow sandbox may run before the SDK interrupts it and fails
   * the workflow task (a workflow that never yields); 5000, the SDK's own default. 0 turns the
   * detector off (patched SDK), saving the watchdog thread Node starts and joins for every such
   * call: an opt-in for operators who measured they need it (docs/tuning.md, src/temporal/workflow-sandbox.ts).
   */
  WORKER_DEADLOCK_TIMEOUT_MS: z.coerce.number().int().min(0).max(4_294_967_295).default(5000),
  /** Whether workflows answer the stack trace query (Temporal UI "Stack Trace"), as the SDK does by default; false saves a captured stack per promise (patched SDK). */
  WORKER_WORKFLOW_STACK_TRACES: z
    .enum(['true', 'false'], { message: 'must be true or false' })
    .default('true')
    .transform((v) => v === 'true'),
  /** host:port where the worker serves the Temporal SDK's metrics for Prometheus (/metrics) and its probes (/livez, /readyz); off when unset. */
  WORKER_METRICS_ADDRESS: listenAddress.optional(),
  /** After SIGTERM, how long activities in flight may finish before they are cancelled (and retried by another worker). */
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
  /** After SIGTERM, how long requests in flight may finish before the api closes their connections. */
  API_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  /** host:port where the api serves its own metrics (webhooks, Temporal signals) for Prometheus; off when unset. */
  API_METRICS_ADDRESS: listenAddress.optional(),
  /** OpenTelemetry collector's OTLP/HTTP base URL (spans go to <url>/v1/traces); traces are off when unset. */
  OTEL_EXPORTER_OTLP_ENDPOINT: url.refine((u) => /^https?:$/.test(new URL(u).protocol), 'must be an http:// or https:// URL').optional(),
  /** The service name traces carry; unset, pingback-api and pingback-worker. */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
});

/** A PEM file holding a block of this kind (`CERTIFICATE`, `PRIVATE KEY` in any of its forms), read at start. */
function readablePem(path: string, kind: 'CERTIFICATE' | 'PRIVATE KEY'): boolean {
  try {
    return new RegExp(`-----BEGIN [A-Z ]*${kind}-----`).test(fs.readFileSync(path, 'utf8'));
  } catch {
    return false;
  }
}

/** EMAIL_TLS_CA_FILE is read at start, so a wrong path stops the process there, not at the first mail. */
function readableCertificates(path: string): boolean {
  try {
    return fs.readFileSync(path, 'utf8').includes('-----BEGIN CERTIFICATE-----');
  } catch {
    return false;
  }
}

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

/** What node's resolver takes: an address, `v4:port` or `[v6]:port`; a host name it would refuse at start-up. */
function isDnsServer(s: string): boolean {
  const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(s) ?? /^([^:]+)(?::(\d{1,5}))?$/.exec(s);
  const [address, port] = m ? [m[1], m[2]] : [s, undefined];
  return isIP(address) !== 0 && (port === undefined || (Number(port) > 0 && Number(port) < 65536));
}

function isKey(text: string): boolean {
  try {
    parseKey(text);
    return true;
  } catch {
    return false;
  }
}

/** The credentials box for processes that read or write channel configs. */
export function secretBoxFrom(config: Pick<Config, 'PINGBACK_ENCRYPTION_KEY' | 'PINGBACK_ENCRYPTION_OLD_KEYS'>): SecretBox {
  if (!config.PINGBACK_ENCRYPTION_KEY) throw new ConfigError('PINGBACK_ENCRYPTION_KEY is required (generate one with: openssl rand -hex 32)');
  const old = config.PINGBACK_ENCRYPTION_OLD_KEYS?.split(',').filter(Boolean).map(parseKey) ?? [];
  return new SecretBox(parseKey(config.PINGBACK_ENCRYPTION_KEY), old);
}

/** The variables that are set: empty strings are how shells and compose files say "unset". */
export function setVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = setVariables(env);
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0] ?? 'environment');
    const why = issue.code === 'invalid_type' && cleaned[name] === undefined ? 'is required' : issue.message;
    throw new ConfigError(`${name} ${why}`);
  }
  const c = parsed.data;
  if (Boolean(c.TEMPORAL_TLS_CLIENT_CERT_PATH) !== Boolean(c.TEMPORAL_TLS_CLIENT_KEY_PATH)) {
    throw new ConfigError('TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together (mTLS needs the certificate and its key)');
  }
  if (c.TEMPORAL_TLS === false && (c.TEMPORAL_TLS_CLIENT_CERT_PATH || c.TEMPORAL_TLS_SERVER_CA_CERT_PATH || c.TEMPORAL_TLS_SERVER_NAME)) {
    throw new ConfigError('TEMPORAL_TLS is false, but TLS settings are given (TEMPORAL_TLS_*): remove one or the other');
  }
  return c;
}
