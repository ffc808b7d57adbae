/**
 * The table of environment variables in docs/configuration.md, generated from the zod schema
 * that validates them at start (`configSchema`, src/config.ts):
 *
 *   npx tsx scripts/config-docs.ts
 *
 * rewrites the table between `<!-- config:start -->` and `<!-- config:end -->`, and
 * test/unit/config-docs.test.ts fails while the page and the schema disagree.
 *
 * Each row's default and accepted values come from the schema itself (its `.default()`,
 * `.optional()`, numeric bounds, enums, URL formats). Its description is the schema's own
 * (`.describe()` or `.meta({ description })`) followed by this script's entry in DESCRIPTIONS;
 * a variable with neither stops the script, naming it. Prefer a description on the schema.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { configSchema } from '../src/config';

export const CONFIG_DOC = path.resolve(__dirname, '../docs/configuration.md');
export const TABLE_START = '<!-- config:start -->';
export const TABLE_END = '<!-- config:end -->';
export const REGENERATE = 'npx tsx scripts/config-docs.ts';

/**
 * What the schema does not say of a variable: its meaning, and what it costs to change it. A
 * description given on the schema comes first in the row; an entry here adds to it.
 */
export const DESCRIPTIONS: Record<string, string> = {
  DATABASE_URL: '`npm start` defaults it to `postgres://postgres@127.0.0.1:5432/pingback` (and creates that database).',
  DATABASE_POOL_MAX:
    "Size it so that all processes together stay under the server's `max_connections` (a managed PostgreSQL's is often 100): processes × (this + 1) plus headroom for `pingback migrate` and your tools.",
  TEMPORAL_ADDRESS: 'The Temporal frontend (gRPC) the api and workers connect to. Set, `npm start` starts no dev server of its own.',
  TEMPORAL_NAMESPACE: 'The Temporal namespace of every workflow; register the search attributes on it once (`pingback search-attributes`).',
  TEMPORAL_TASK_QUEUE: 'The task queue the api starts workflows on and workers poll.',
  TEMPORAL_API_KEY: 'An API key for Temporal Cloud (or a cluster that takes them), sent as a bearer token; turns TLS on unless `TEMPORAL_TLS=false`.',
  TEMPORAL_TLS: 'Connect to Temporal over TLS. Unset: on when an API key or any `TEMPORAL_TLS_*` file is given, off otherwise.',
  TEMPORAL_TLS_CLIENT_CERT_PATH: "mTLS: the client certificate (PEM) the api and workers present; with `TEMPORAL_TLS_CLIENT_KEY_PATH`. Read at start.",
  TEMPORAL_TLS_CLIENT_KEY_PATH: 'mTLS: the private key (PEM) of `TEMPORAL_TLS_CLIENT_CERT_PATH`. Read at start.',
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: "The CA certificates (PEM) that signed the Temporal frontend's certificate, when the system does not trust it already.",
  TEMPORAL_TLS_SERVER_NAME: "The name to check the frontend's certificate against (SNI), when it differs from `TEMPORAL_ADDRESS`'s host.",
  TEMPORAL_SIGNAL_TIMEOUT_MS:
    'How long a webhook waits for Temporal to accept its signal before answering 503 (the platform redelivers).',
  HOST: 'The address the api listens on.',
  PORT: 'The port the api listens on: the API, the dashboard, the widget and the webhooks.',
  TRUSTED_PROXY_HOPS:
    "Reverse proxies in front of the api that append the client's address to `X-Forwarded-For`: the client's address is then read that many entries from the right. `0`: the header is ignored (a client could write anything in it) and the connection's address is the client's.",
  PUBLIC_BASE_URL:
    "How platforms and browsers reach this deployment: channels' `callback_url` is built from it (Telegram requires https), and its origin is trusted for signed-in changes.",
  PINGBACK_ADMIN_TOKEN:
    'Bearer token for the operator routes (`/admin`); unset, the admin API is off. `npm start` makes one and keeps it in `data/admin-token`.',
  PINGBACK_ENCRYPTION_KEY:
    'Required by `api` and `worker`: 32 bytes (64 hex characters or base64) sealing channel credentials at rest with AES-256-GCM; make one with `openssl rand -hex 32` and keep it, as stored credentials cannot be read without it. `npm start` makes a development key in `data/encryption-key`, with a warning.',
  PINGBACK_ENCRYPTION_OLD_KEYS:
    'Comma-separated previous keys, still accepted for reading while keys rotate (new values are sealed with the current key); `pingback keys rotate` re-seals every stored secret with the current key, after which they can be dropped ([SECURITY.md](../SECURITY.md#rotating-the-encryption-key)).',
  TELEGRAM_API_BASE_URL: "Telegram's Bot API (the sandbox's, `http://127.0.0.1:8081`, for offline use).",
  META_GRAPH_BASE_URL: "Meta's Graph API for WhatsApp and Instagram (the sandbox's, `http://127.0.0.1:8082`, for offline use).",
  META_GRAPH_VERSION: 'The Graph API version of every WhatsApp and Instagram call.',
  X_API_BASE_URL: "X's API (the sandbox's, `http://127.0.0.1:8083`, for offline use).",
  EMAIL_TLS_CA_FILE:
    "A PEM file of CA certificates trusted, besides Node's bundled list, for email channels' SMTP and IMAP servers (a company mail server with its own CA); read at start. PingBack always requires TLS to them: `secure: true` is TLS from the first byte, `false` is STARTTLS, and a server that does not offer it gets no password.",
  EMAIL_ALLOWED_HOSTS:
    'Mail servers email channels may use although they are not public (host names, addresses or CIDR ranges, comma-separated): every other loopback, private, link-local (cloud metadata) or reserved address is refused, checked after DNS. `npm start` allows loopback (`127.0.0.1,::1,localhost`).',
  MAIL_AUTH_DNS_SERVERS:
    "DNS servers (`host` or `host:port`, comma-separated) that inbound mail's SPF, DKIM and DMARC checks ask; none: the system's resolver.",
  WEBCHAT_VISITOR_TOKEN_DAYS:
    "How long a web chat visitor's token lasts unused; a visitor who comes back within it gets a renewed one silently (`X-Visitor-Token`), one who does not starts a new conversation.",
  WEBCHAT_MESSAGES_PER_MINUTE:
    'Messages one web chat visitor may send per minute, and ten times that from one address per channel; more get 429 with `Retry-After`. Counted in PostgreSQL, across api processes; an IPv6 address counts by its /64.',
  WEBCHAT_VISITORS_PER_MINUTE:
    'Web chat visitors one IP address may start per channel per minute (429 beyond). Counted in PostgreSQL, across api processes; an IPv6 address counts by its /64. Behind a reverse proxy, set `TRUSTED_PROXY_HOPS`, or every visitor counts as the proxy.',
  WEBCHAT_UPLOADS_PER_MINUTE:
    'Files one web chat visitor may upload per minute, and three times that from one address per channel (visitors cost nothing to start); more get 429 with `Retry-After`. Counted in PostgreSQL, across api processes.',
  WEBCHAT_ATTACHMENT_MAX_BYTES:
    "The largest file (10 MiB by default, 50 MiB at most) a web chat visitor, or an agent for a reply, may upload; larger gets 413. These files are kept in PostgreSQL, and an upload or a download holds the whole file in the api's memory while it lasts: size the api for concurrent transfers of this size.",
  SESSION_IDLE_HOURS: 'A dashboard session ends after this many hours unused.',
  SESSION_MAX_DAYS: 'A dashboard session ends this many days after sign-in, used or not.',
  LOGIN_ATTEMPTS_PER_EMAIL:
    'Failed sign-ins allowed in 15 minutes per email, counted in PostgreSQL across api processes; more get 429 with `Retry-After`.',
  LOGIN_ATTEMPTS_PER_ADDRESS:
    'Failed sign-ins allowed in 15 minutes per client address, counted in PostgreSQL across api processes; more get 429 with `Retry-After`.',
  ALLOWED_ORIGINS:
    "Comma-separated origins, besides `PUBLIC_BASE_URL`'s and the api's own, whose pages may make changes with a signed-in session (a dashboard served from elsewhere, such as `npm run dev:web`).",
  EVENTS_RETENTION_HOURS:
    'How long `GET /api/events` keeps events for a client that reconnects with `Last-Event-ID`; older ones get a `reset` event.',
  IGNORED_EVENTS_RETENTION_DAYS:
    '`ignored_events` keeps what was acknowledged but not routed (an inactive channel\'s deliveries, unreadable or unstorable events, machine mail) this many days, for an operator to look at.',
  MAIL_FILES_SENDER_MIB_PER_DAY:
    'MiB of files that one sender\'s mail by webhook may leave on a channel in a day (0: none kept); past it the mail is taken and its attachments marked `dropped`.',
  MAIL_FILES_CHANNEL_MIB_PER_DAY:
    'MiB of files that all mail by webhook may leave on a channel in a day (0: none kept); past it the mail is taken and its attachments marked `dropped`.',
  PARKED_REPLY_MAX_AGE_HOURS:
    'How long a reply may wait for its channel to be reconnected before it fails instead of going out late (at most 24).',
  CONVERSATION_QUIET_END_HOURS:
    "A conversation's workflow ends once it has had nothing to do for this long (nothing to store or send, no snooze to wait out), so workers cache only live conversations; the next message, reply or status starts a new run of it by signal-with-start. It ends between one and two periods after its last activity. 0: runs never end (a cached idle conversation costs a worker memory and its busy conversations CPU, docs/tuning.md). Fractions allowed; runs started before a change keep the period they started with.",
  MAIL_FILES_RETENTION_DAYS:
    'Days a file kept from mail by webhook stays; then it is deleted (its message stays, and opening the file says why).',
  TEMPORAL_UI_URL:
    "The Temporal Web UI's address: the dashboard links admins from a conversation to its workflow there (`npm start` sets its own).",
  LOG_LEVEL: 'The least severe log line written. Logs are JSON lines on stdout and never contain secrets.',
  WORKER_INSTANCES:
    'SDK workers one worker process runs on the task queue, each with its own connection and a share of the three limits below; a conversation sticks to the one that first ran it. The SDK\'s CPU per message grows with the workflows one SDK worker caches, so four caching 2,500 each beat one caching 10,000 (`npm run bench:worker-cache`, 10,000 conversations at 100 messages/s: 5.5–6.6 ms per message with 4, 7.1–10.3 with 1); each costs a V8 context (~60 MB idle). Use 1 for a small inbox.',
  WORKER_MAX_CONCURRENT_ACTIVITIES: 'Activities one worker process runs at once (divided among its `WORKER_INSTANCES`).',
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS:
    'Workflow tasks one worker process runs at once (divided likewise). An SDK worker keeps its polls (up to 10) waiting at the server only while it has free slots. A task that finds a poll waiting is handed over in memory; one that does not is written to the task queue\'s table and read back, which costs Temporal more. With the SDK\'s default of 40 (10 per SDK worker), a worker that lagged a little had no poll waiting: in `npm run bench`, 2–10 % of tasks were handed over with 40 and 13–100 % with 200 ([benchmark history](benchmark-history.md)).',
  WORKER_MAX_CACHED_WORKFLOWS:
    "Conversation workflows kept in a worker process's memory (divided likewise; an evicted one is replayed from history when it next gets a message). Measured: 10,000 cached ≈ 1.9 GB peak RSS with one SDK worker, 2.2 GB with four; a miss costs a replay, so size it to the conversations active at once, and run more worker processes rather than one with a huge cache.",
  WORKER_STICKY_QUEUE_TIMEOUT_MS:
    "How long a conversation's next workflow task waits for the SDK worker that has it cached before the server hands it to any worker, which must then replay the conversation's history (the SDK's default is 10 s). A backlog longer than this turns into replays, which cost far more CPU than the tasks themselves; `npm run bench` reports how many tasks passed it. Longer keeps an overloaded worker out of that spiral, at the price of conversations whose task sat on a crashed worker's queue waiting that long ([tuning](tuning.md#sharing-a-host)).",
  WORKER_DEADLOCK_TIMEOUT_MS:
    'How long one call into the workflow sandbox may run before the SDK interrupts it and fails the workflow task (`Script execution timed out after N ms`); the SDK\'s own default is 5000. `0` turns the detector off (patched SDK), saving the watchdog thread Node starts and joins for every such call; with it off, a workflow that never yields (a bug in PingBack\'s workflow code) stalls every conversation of the SDK worker it runs on, and then of each worker its task is handed to, until it is terminated or reset ([tuning](tuning.md#the-workflow-sandbox)).',
  WORKER_WORKFLOW_STACK_TRACES:
    'Whether conversation workflows answer the Temporal UI\'s "Stack Trace" tab (the `__stack_trace` query), at the cost of a captured stack for every promise a workflow creates; `false` saves it (patched SDK). The `state` query (`GET /api/conversations/:id`) shows what a conversation waits for either way ([tuning](tuning.md#the-workflow-sandbox)).',
  WORKER_METRICS_ADDRESS:
    "`host:port` where the worker serves the Temporal SDK's metrics and PingBack's own worker metrics at `/metrics` for Prometheus, and its probes `/livez` and `/readyz` ([operations](operations.md)); without it the worker serves neither. `docker-compose.yml` sets `0.0.0.0:9464`.",
  WORKER_SHUTDOWN_GRACE_MS:
    'After SIGTERM, how long activities in flight (a reply being sent, a mailbox being read) may finish before they are cancelled; a cancelled one is retried by another worker ([operations](operations.md#shutting-down)).',
  API_SHUTDOWN_GRACE_MS:
    'After SIGTERM, how long requests in flight may finish before the api closes their connections; `/readyz` answers 503 from the start of the shutdown ([operations](operations.md#shutting-down)).',
  API_METRICS_ADDRESS:
    "`host:port` where the api serves its own metrics at `/metrics` for Prometheus, apart from the public port ([operations](operations.md#metrics)). `docker-compose.yml` sets `0.0.0.0:9465`.",
  OTEL_EXPORTER_OTLP_ENDPOINT:
    "Turns traces on: the api and the worker send their spans to this OpenTelemetry collector over OTLP/HTTP (JSON), at `<url>/v1/traces`, e.g. `http://otel-collector:4318`. The exporter's own variables (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_BSP_*`) apply too. Unset, nothing is recorded or sent ([operations](operations.md#traces)).",
  OTEL_SERVICE_NAME:
    'The `service.name` of every span the process sends (`OTEL_RESOURCE_ATTRIBUTES` adds others); unset, `pingback-api` for the api and `pingback-worker` for the worker.',
};

export interface ConfigVariable {
  name: string;
  /** `required`, `unset`, or the default as written in the environment. */
  default: string;
  /** What the schema accepts, in words: `integer 1–64`, `URL`, `debug, info, …`. */
  values: string;
  description: string;
}

export class ConfigDocsError extends Error {}

type AnySchema = z.core.$ZodType;

/** The schema's own description of one layer, from `.describe()` or `.meta()`. */
function ownDescription(schema: AnySchema): string | undefined {
  return z.globalRegistry.get(schema as z.ZodType)?.description ?? (schema as z.ZodType).description;
}

/**
 * Peels the wrappers a variable's schema is built of (optional, default, pipe and transform,
 * nullable, readonly, catch) down to the schema that checks the raw string, noting the default,
 * whether the variable may be left unset, and the first description met on the way.
 */
function unwrap(schema: AnySchema): { leaf: AnySchema; optional: boolean; hasDefault: boolean; defaultValue: unknown; description?: string } {
  let current: AnySchema = schema;
  let optional = false;
  let hasDefault = false;
  let defaultValue: unknown;
  let description: string | undefined;
  for (;;) {
    description ??= ownDescription(current);
    const def = current._zod.def as z.core.$ZodTypeDef & { innerType?: AnySchema; in?: AnySchema; defaultValue?: unknown };
    switch (def.type) {
      case 'optional':
        optional = true;
        current = def.innerType!;
        continue;
      case 'default':
      case 'prefault':
        if (!hasDefault) {
          hasDefault = true;
          defaultValue = def.defaultValue;
        }
        current = def.innerType!;
        continue;
      case 'nullable':
      case 'readonly':
      case 'catch':
      case 'nonoptional':
        current = def.innerType!;
        continue;
      case 'pipe':
        // The input side checks what the environment holds; the output side only reshapes it.
        current = def.in!;
        continue;
      default:
        return { leaf: current, optional, hasDefault, defaultValue, description };
    }
  }
}

const code = (s: string) => '`' + s + '`';

function formatDefault(v: { optional: boolean; hasDefault: boolean; defaultValue: unknown }): string {
  if (v.hasDefault) {
    const value = v.defaultValue;
    if (Array.isArray(value)) return value.length === 0 ? 'none' : code(value.join(','));
    if (typeof value === 'string') return value === '' ? 'empty' : code(value);
    return code(String(value));
  }
  return v.optional ? 'unset' : 'required';
}

/** The accepted values in words, from the JSON Schema zod makes of the leaf (bounds, enums, formats). */
function formatValues(leaf: AnySchema, isList: boolean): string {
  if (isList) return 'comma-separated list';
  const js = z.toJSONSchema(leaf as z.ZodType, { io: 'input', unrepresentable: 'any' }) as {
    type?: string;
    enum?: unknown[];
    format?: string;
    minimum?: number;
    maximum?: number;
    exclusiveMinimum?: number;
    exclusiveMaximum?: number;
    minLength?: number;
  };
  if (js.enum) return js.enum.map((e) => code(String(e))).join(', ');
  if (js.type === 'integer' || js.type === 'number') {
    const integer = js.type === 'integer';
    const unbounded = (n: number | undefined) => n === undefined || Math.abs(n) >= Number.MAX_SAFE_INTEGER;
    // For whole numbers "> 0" is "≥ 1"; say it the plain way.
    let min = js.minimum;
    let exclusiveMin = js.exclusiveMinimum;
    if (integer && exclusiveMin !== undefined) [min, exclusiveMin] = [Math.floor(exclusiveMin) + 1, undefined];
    let max = unbounded(js.maximum) ? undefined : js.maximum;
    let exclusiveMax = js.exclusiveMaximum;
    if (integer && exclusiveMax !== undefined) [max, exclusiveMax] = [Math.ceil(exclusiveMax) - 1, undefined];
    const kind = integer ? 'integer' : 'number';
    const fmt = (n: number) => n.toLocaleString('en-US');
    if (min !== undefined && max !== undefined) return `${kind} ${fmt(min)}–${fmt(max)}`;
    const bounds = [
      min !== undefined ? `≥ ${fmt(min)}` : exclusiveMin !== undefined ? `> ${fmt(exclusiveMin)}` : undefined,
      max !== undefined ? `≤ ${fmt(max)}` : exclusiveMax !== undefined ? `< ${fmt(exclusiveMax)}` : undefined,
    ].filter(Boolean);
    return [kind, bounds.join(', ')].filter(Boolean).join(' ');
  }
  if (js.type === 'boolean') return `${code('true')}, ${code('false')}`;
  if (js.type === 'string') {
    if (js.format === 'uri') return 'URL';
    if (js.minLength !== undefined && js.minLength > 1) return `text, ≥ ${js.minLength} characters`;
    return 'text';
  }
  return js.type ?? 'any';
}

/** One row per variable of the schema, in the schema's order. Throws, naming them, for variables without a description. */
export function configVariables(
  schema: z.ZodObject = configSchema,
  descriptions: Record<string, string> = DESCRIPTIONS,
): ConfigVariable[] {
  const shape = schema.shape as Record<string, AnySchema>;
  const undescribed: string[] = [];
  const rows = Object.entries(shape).map(([name, field]) => {
    const unwrapped = unwrap(field);
    const description = [unwrapped.description, descriptions[name]]
      .filter((d): d is string => !!d && d.trim() !== '')
      .map((d) => d.trim().replace(/\s+/g, ' '))
      .map((d) => (/[.!?)]$/.test(d) ? d : d + '.'))
      .join(' ');
    if (!description) undescribed.push(name);
    return {
      name,
      default: formatDefault(unwrapped),
      values: formatValues(unwrapped.leaf, Array.isArray(unwrapped.defaultValue)),
      description,
    };
  });
  const unknown = Object.keys(descriptions).filter((name) => !(name in shape));
  const problems = [
    undescribed.length ? `no description for ${undescribed.join(', ')}: add .describe() to it in src/config.ts, or an entry to DESCRIPTIONS in scripts/config-docs.ts` : '',
    unknown.length ? `DESCRIPTIONS in scripts/config-docs.ts names ${unknown.join(', ')}, which src/config.ts no longer has: remove the entry` : '',
  ].filter(Boolean);
  if (problems.length) throw new ConfigDocsError(problems.join('\n'));
  return rows;
}

/** A Markdown table cell: one line, and a `|` that cannot end the cell. */
const cell = (s: string) => s.replace(/\s+/g, ' ').replace(/\|/g, '\\|');

export function configTable(variables: ConfigVariable[] = configVariables()): string {
  return [
    `<!-- Generated from src/config.ts by \`${REGENERATE}\`: edit the schema or the script's DESCRIPTIONS, not this table. -->`,
    '',
    '| variable | default | accepts | description |',
    '|---|---|---|---|',
    ...variables.map((v) => `| ${cell(code(v.name))} | ${cell(v.default)} | ${cell(v.values)} | ${cell(v.description)} |`),
  ].join('\n');
}

/** The page with the generated table between its markers; throws when the markers are missing. */
export function withConfigTable(page: string, table: string = configTable()): string {
  const start = page.indexOf(TABLE_START);
  const end = page.indexOf(TABLE_END);
  if (start === -1 || end === -1 || end < start) {
    throw new ConfigDocsError(`docs/configuration.md needs the markers ${TABLE_START} and ${TABLE_END}, in that order, around the table`);
  }
  return page.slice(0, start + TABLE_START.length) + '\n' + table + '\n' + page.slice(end);
}

if (require.main === module) {
  try {
    const page = fs.readFileSync(CONFIG_DOC, 'utf8');
    const variables = configVariables();
    const updated = withConfigTable(page, configTable(variables));
    const where = path.relative(process.cwd(), CONFIG_DOC);
    if (updated === page) console.log(`${where}: up to date (${variables.length} variables)`);
    else {
      fs.writeFileSync(CONFIG_DOC, updated);
      console.log(`${where}: table rewritten (${variables.length} variables)`);
    }
  } catch (err) {
    console.error(`config-docs: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
