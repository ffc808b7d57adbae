#!/usr/bin/env node
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, secretBoxFrom, type Config } from './config';
import { createAccount, planSchema, setPlan } from './db/accounts';
import { isUuid } from './db/ids';
import { emailSchema } from './db/users';
import { AppError, DomainError } from './errors';
import { createDb } from './db/knex';
import { ensureDatabase, migrateLatest } from './db/migrate';
import { resealAll } from './db/reseal';
import { createLogger, type Logger } from './log';
import { connectDeps, runUntilSignal, startApi, startWorker, type Running } from './processes';

const USAGE = `pingback <command>

  start                      everything on one machine, for trying and developing:
                             Temporal dev server (unless TEMPORAL_ADDRESS is set), database and
                             migrations, API/ingress and a worker
  api                        the HTTP API and the platforms' webhook ingress
  worker                     a Temporal worker (conversation and channel workflows)
  migrate                    apply database migrations
  search-attributes          register PingBack's search attributes on the Temporal namespace
                             (ChannelType, ChannelId, AccountId, ConversationStatus); run once per cluster
  account create --name NAME [--plan free|mini|pro] [--admin-email EMAIL [--admin-name NAME]] [--json]
                             create an account and print its id and first API key; with
                             --admin-email, its first admin and their link to set a password
  account set-plan --id ACCOUNT_ID --plan free|mini|pro
                             change an account's plan (refused when its active channels exceed it)
  keys rotate [--json]       re-seal every stored secret (channel credentials, webhook secrets and
                             verify tokens) with PINGBACK_ENCRYPTION_KEY, so the keys listed in
                             PINGBACK_ENCRYPTION_OLD_KEYS can be dropped; safe to run again
  sandbox                    run the platform fakes (Telegram Bot API, X API, Meta Graph API) for offline use
  help [COMMAND]             what a command does, its options and variables (or: COMMAND --help)
  --version                  print the version

Configuration is by environment variables only; see docs/configuration.md.`;

/**
 * `pingback help COMMAND` (or `pingback COMMAND --help`): what one command does, its options and
 * the variables it reads. Every variable and its default: docs/configuration.md.
 */
const HELP: Record<string, string> = {
  start: `pingback start

Everything on one machine, for trying and developing: a Temporal dev server (unless
TEMPORAL_ADDRESS is set), the database (without DATABASE_URL, a local one, created if missing)
and its migrations, stored secrets re-sealed with the current key, then the API/ingress and a
worker in this process. Prints where the dashboard, API, docs and webhooks are. Ctrl-C stops it all.

Variables (all optional here):
  DATABASE_URL               default postgres://postgres@127.0.0.1:5432/pingback
  TEMPORAL_ADDRESS           use this Temporal server instead of starting a dev server
  TEMPORAL_DEV_PORT          the dev server's port (7233); TEMPORAL_UI_PORT its UI's (8233)
  PINGBACK_DATA_DIR          where the dev server's state and generated keys are kept (./data)
  PINGBACK_ADMIN_TOKEN, PINGBACK_ENCRYPTION_KEY
                             generated once and kept in PINGBACK_DATA_DIR when not set
  PORT, HOST, PUBLIC_BASE_URL, LOG_LEVEL, and every api and worker variable`,
  api: `pingback api

The HTTP API, the dashboard, the platforms' webhook ingress and the web chat widget. Runs until
SIGTERM or SIGINT, then finishes open requests (API_SHUTDOWN_GRACE_MS). Run as many as you like
behind a load balancer; run \`pingback migrate\` first.

Variables:
  DATABASE_URL               required: PostgreSQL
  PINGBACK_ENCRYPTION_KEY    required: seals channel credentials and Temporal payloads
  PINGBACK_ENCRYPTION_OLD_KEYS  keys still opened, while \`pingback keys rotate\` moves off them
  PINGBACK_ADMIN_TOKEN       enables the operator API (/admin) and the codec endpoint
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE
  TEMPORAL_API_KEY, TEMPORAL_TLS*  a secured cluster or Temporal Cloud; see docs/configuration.md
  HOST, PORT                 where it listens (0.0.0.0:3000)
  PUBLIC_BASE_URL            the address platforms and browsers reach it at (webhook URLs, links)
  TRUSTED_PROXY_HOPS, ALLOWED_ORIGINS, TEMPORAL_UI_URL, API_METRICS_ADDRESS, LOG_LEVEL
  WEBCHAT_*, SESSION_*, LOGIN_ATTEMPTS_*  limits; see docs/configuration.md`,
  worker: `pingback worker

A Temporal worker: the conversation and channel workflows and their activities (sending replies,
polling mailboxes and X, storing messages). Runs until SIGTERM or SIGINT, then finishes its
current tasks (WORKER_SHUTDOWN_GRACE_MS). Run one or more per machine.

Variables:
  DATABASE_URL               required: PostgreSQL
  PINGBACK_ENCRYPTION_KEY    required (and PINGBACK_ENCRYPTION_OLD_KEYS)
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE
  TEMPORAL_API_KEY, TEMPORAL_TLS*  a secured cluster or Temporal Cloud
  PUBLIC_BASE_URL            the api's public address (links in replies, webhook registration)
  WORKER_INSTANCES, WORKER_MAX_CONCURRENT_ACTIVITIES, WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
  WORKER_MAX_CACHED_WORKFLOWS  sizing; see docs/tuning.md
  WORKER_METRICS_ADDRESS, LOG_LEVEL, TELEGRAM_API_BASE_URL, META_GRAPH_BASE_URL, X_API_BASE_URL, EMAIL_*`,
  migrate: `pingback migrate

Creates the database if it is missing (when its user may), then applies the migrations not yet
applied and prints them ("database is up to date" otherwise). Safe to run again; run it before
starting new api and worker processes.

Variables:
  DATABASE_URL               required`,
  'search-attributes': `pingback search-attributes

Registers PingBack's search attributes (ChannelType, ChannelId, AccountId, ConversationStatus) on
the Temporal namespace, so workflows can be listed by them. Run once per cluster; safe to run again.

Variables:
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE
  TEMPORAL_API_KEY, TEMPORAL_TLS*  a secured cluster or Temporal Cloud, as for the api and workers
  DATABASE_URL               required (read with the rest of the configuration)`,
  account: `pingback account create --name NAME [--plan free|mini|pro] [--admin-email EMAIL [--admin-name NAME]] [--json]
pingback account set-plan --id ACCOUNT_ID --plan free|mini|pro [--json]

create: makes an account (plan free unless --plan) and prints its id and first API key, shown only
  once. With --admin-email, also its first admin and a link to set their password (single use,
  valid 7 days). --json prints {account_id, api_key, admin_set_password_url?}.
set-plan: changes an account's plan; refused when its active channels exceed the new plan.

Variables:
  DATABASE_URL               required
  PUBLIC_BASE_URL            the address the set-password link points at`,
  keys: `pingback keys rotate [--json]

Re-seals every stored secret (channel credentials, webhook secrets, verify tokens) with
PINGBACK_ENCRYPTION_KEY, so the keys in PINGBACK_ENCRYPTION_OLD_KEYS can be dropped once no
process still runs with them. Safe to run again. Exits 1 when a channel could not be re-sealed
(it names them). --json prints {key_id, channels, resealed, values, failed}.

Variables:
  DATABASE_URL               required
  PINGBACK_ENCRYPTION_KEY    required: the key to seal with
  PINGBACK_ENCRYPTION_OLD_KEYS  the keys the stored secrets may still be sealed with`,
  sandbox: `pingback sandbox

Runs the platform fakes for offline use: the Telegram Bot API, the X API and the Meta Graph API
(WhatsApp, Instagram), each printing the variable to point PingBack at it. Ctrl-C stops them.
See docs/development.md.

Variables:
  SANDBOX_TELEGRAM_PORT      8081
  SANDBOX_META_PORT          8082
  SANDBOX_X_PORT             8083`,
  help: `pingback help [COMMAND]

Lists the commands, or tells what one does, its options and the variables it reads.
pingback COMMAND --help does the same; pingback --version prints the version.`,
};

/** package.json's version, found from the package's root in source and compiled runs alike. */
function version(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command && Object.hasOwn(HELP, command) && rest.some((a) => a === '--help' || a === '-h')) {
    console.log(HELP[command]);
    return;
  }
  switch (command) {
    case 'start':
      return (await import('./dev/start')).start();
    case 'api':
      return runService(async (config, log, deps) => {
        const api = await startApi(config, log, deps);
        log.info('api listening', { url: api.url, ...(api.metricsUrl ? { metrics: api.metricsUrl } : {}) });
        return api;
      });
    case 'worker':
      return runService((config, log, deps) => startWorker(config, log, deps));
    case 'migrate': {
      const config = loadConfig();
      await ensureDatabase(config.DATABASE_URL).catch((err) =>
        console.error(`could not check or create the database (${err.message}); migrating anyway`),
      );
      const applied = await migrateLatest(config.DATABASE_URL);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      return;
    }
    case 'keys':
      return keysCommand(rest);
    case 'search-attributes': {
      const config = loadConfig();
      const { registerSearchAttributes } = await import('./temporal/register-search-attributes');
      const { temporalConnectionOptions } = await import('./temporal/connection-options');
      // The same connection as the api and workers: TLS, mTLS or an API key for a secured cluster.
      const added = await registerSearchAttributes(temporalConnectionOptions(config), config.TEMPORAL_NAMESPACE);
      console.log(added.length ? `registered: ${added.join(', ')}` : 'search attributes already registered');
      return;
    }
    case 'account':
      return accountCommand(rest);
    case 'sandbox':
      return runUntilSignal(async () => {
        const { TelegramFake } = await import('./sandbox/telegram');
        const fake = await TelegramFake.start({ port: Number(process.env.SANDBOX_TELEGRAM_PORT ?? 8081), allowHttpWebhooks: true });
        console.log(`Telegram Bot API fake: ${fake.baseUrl}  (set TELEGRAM_API_BASE_URL=${fake.baseUrl})`);
        const { XFake } = await import('./sandbox/x');
        const x = await XFake.start({ port: Number(process.env.SANDBOX_X_PORT ?? 8083) }).catch(async (err) => {
          await fake.stop();
          throw err;
        });
        console.log(`X API fake: ${x.baseUrl}  (set X_API_BASE_URL=${x.baseUrl}; accounts: POST ${x.baseUrl}/_sandbox/accounts)`);
        const { MetaFake } = await import('./sandbox/meta');
        // Statuses and echoes on, as Meta sends them; tests start their own fakes with them off.
        const meta = await MetaFake.start({ port: Number(process.env.SANDBOX_META_PORT ?? 8082), autoStatuses: true, echoes: true }).catch(async (err) => {
          await Promise.all([fake.stop(), x.stop()]);
          throw err;
        });
        console.log(`Meta Graph API fake: ${meta.baseUrl}  (set META_GRAPH_BASE_URL=${meta.baseUrl}; numbers: POST ${meta.baseUrl}/_sandbox/whatsapp/numbers)`);
        return { stop: async () => void (await Promise.all([fake.stop(), x.stop(), meta.stop()])) };
      });
    case '--version':
    case '-v':
      console.log(`pingback ${version()}`);
      return;
    case 'help':
      if (rest[0] !== undefined && !Object.hasOwn(HELP, rest[0])) {
        console.error(`unknown command "${rest[0]}"\n\n${USAGE}`);
        process.exitCode = 2;
        return;
      }
      console.log(rest[0] === undefined ? USAGE : HELP[rest[0]]);
      return;
    case undefined:
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

/** An api or worker process: its settings, log and connections made once; stopped, and its connections closed, on SIGTERM. */
function runService(start: (config: Config, log: Logger, deps: ReturnType<typeof connectDeps>) => Promise<Running>): Promise<void> {
  return runUntilSignal(async () => {
    const config = loadConfig();
    const log = createLogger(config.LOG_LEVEL);
    const deps = connectDeps(config);
    const service = await start(config, log, deps);
    return { stop: async () => (await service.stop(), await deps.db.destroy()) };
  });
}

async function keysCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'rotate') throw new ConfigError(`unknown keys command "${sub ?? ''}": try "keys rotate"`);
  const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean', default: false } } });
  const config = loadConfig();
  const box = secretBoxFrom(config);
  const db = createDb(config.DATABASE_URL, { max: 1 });
  try {
    const report = await resealAll(db, box);
    if (values.json) console.log(JSON.stringify({ key_id: box.currentKeyId, ...report }));
    else {
      console.log(`${report.channels} channels checked; ${report.values} values in ${report.resealed} channels re-sealed with key ${box.currentKeyId}`);
      for (const f of report.failed) console.log(`  channel ${f.channel_id}: ${f.error}`);
      console.log(
        report.failed.length === 0
          ? 'every stored secret is sealed with the current key: PINGBACK_ENCRYPTION_OLD_KEYS can be emptied'
          : `${report.failed.length} channels could not be re-sealed: keep PINGBACK_ENCRYPTION_OLD_KEYS until they are`,
      );
    }
    if (report.failed.length > 0) process.exitCode = 1;
  } finally {
    await db.destroy();
  }
}

async function accountCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'create' && sub !== 'set-plan') {
    throw new ConfigError(`unknown account command "${sub ?? ''}": try "account create --name NAME" or "account set-plan --id ID --plan PLAN"`);
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      name: { type: 'string' },
      id: { type: 'string' },
      plan: { type: 'string', default: sub === 'create' ? 'free' : undefined },
      json: { type: 'boolean', default: false },
      'admin-email': { type: 'string' },
      'admin-name': { type: 'string' },
    },
  });
  const plan = planSchema.safeParse(values.plan);
  if (!plan.success) throw new ConfigError(`--plan must be one of free, mini, pro`);
  if (sub === 'create' && !values.name) throw new ConfigError('--name is required');
  if (sub === 'set-plan' && !(values.id && isUuid(values.id))) throw new ConfigError('--id must be an account id');
  const adminEmail = values['admin-email'] === undefined ? undefined : emailSchema.safeParse(values['admin-email']);
  if (adminEmail && !adminEmail.success) throw new ConfigError('--admin-email must be an email address');
  if (values['admin-name'] && !adminEmail) throw new ConfigError('--admin-name needs --admin-email');
  const config = loadConfig();
  const db = createDb(config.DATABASE_URL, { max: 1 });
  try {
    if (sub === 'set-plan') {
      const account = await setPlan(db, values.id!, plan.data);
      console.log(values.json ? JSON.stringify({ account_id: account.id, plan: account.plan }) : `account ${account.id} is now on ${account.plan}`);
      return;
    }
    const admin = adminEmail?.success ? { email: adminEmail.data, name: values['admin-name'] } : undefined;
    const { account, apiKey, admin: created } = await createAccount(db, { name: values.name!, plan: plan.data, admin }, config.PUBLIC_BASE_URL);
    if (values.json) {
      console.log(JSON.stringify({ account_id: account.id, api_key: apiKey, ...(created ? { admin_set_password_url: created.setPasswordUrl } : {}) }));
    } else {
      console.log(`account ${account.id} (${account.plan})\napi key: ${apiKey}\n(the key is shown only now; keep it)`);
      if (created) console.log(`admin ${created.user.email}: set a password at ${created.setPasswordUrl}\n(single use, valid 7 days)`);
    }
  } finally {
    await db.destroy();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    if (err instanceof ConfigError || err instanceof AppError || err instanceof DomainError) console.error(`pingback: ${err.message}`);
    else console.error(err);
    process.exit(1);
  });
}
