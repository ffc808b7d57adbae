import { z } from 'zod';

/**
 * Every environment variable PingBack reads, in one schema. Processes call
 * `loadConfig()` once at start; a bad value stops them with one line that names
 * the variable (see `ConfigError`), never a stack trace.
 */
const port = z.coerce.number().int().min(0).max(65535);
const url = z.string().url();

export const configSchema = z.object({
  DATABASE_URL: url.describe('PostgreSQL connection string, e.g. postgres://user@host:5432/pingback'),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('pingback'),
  /** Milliseconds the ingress waits for Temporal to accept a signal before answering 503. */
  TEMPORAL_SIGNAL_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  HOST: z.string().default('0.0.0.0'),
  PORT: port.default(3000),
  /** Where platforms reach this deployment; channel callback URLs are built from it. */
  PUBLIC_BASE_URL: url.default('http://127.0.0.1:3000'),
  /** Bearer token for /admin routes; the admin API is off when it is unset. */
  PINGBACK_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  TELEGRAM_API_BASE_URL: url.default('https://api.telegram.org'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().positive().default(100),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().positive().default(40),
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().nonnegative().default(1000),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings are how shells and compose files say "unset".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0] ?? 'environment');
    const why = issue.code === 'invalid_type' && cleaned[name] === undefined ? 'is required' : issue.message;
    throw new ConfigError(`${name} ${why}`);
  }
  return parsed.data;
}
