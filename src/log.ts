import pino from 'pino';

/**
 * One JSON line per event, through pino: the api, the worker and the Temporal SDK inside it
 * (its Runtime logger, installRuntimeLogging) write the same format at the same LOG_LEVEL, so a
 * log shipper parses them all alike: `{"level":"info","time":"…","msg":"…",…fields}`.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, fields?: object): void;
  info(msg: string, fields?: object): void;
  warn(msg: string, fields?: object): void;
  error(msg: string, fields?: object): void;
  /** A logger whose every line also carries these fields (a request's id, a workflow's). */
  child(bindings: object): Logger;
}

/**
 * Field names that hold secrets, removed by pino's redaction wherever they appear up to three
 * levels deep (pino's paths do not recurse): a second line of defence behind the masking of
 * channel configs (src/channels/mask.ts). A `config` object is removed whole.
 */
const SECRET_FIELDS = [
  'password', 'token', 'bot_token', 'access_token', 'access_token_secret', 'oauth2_user_token', 'api_key', 'api_secret',
  'app_secret', 'client_secret', 'webhook_secret', 'verify_token', 'secret', 'authorization', 'cookie', 'config',
];
export const REDACTED_PATHS = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

function wrap(p: pino.Logger): Logger {
  const at = (lvl: Level) => (msg: string, fields?: object) => (fields ? p[lvl](fields, msg) : p[lvl](msg));
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (bindings) => wrap(p.child(bindings)) };
}

export interface LoggerOptions {
  /** Human-readable lines (pino-pretty) instead of JSON: `npm start` on a terminal. */
  pretty?: boolean;
  /** Where lines go (tests capture them); stdout otherwise. */
  destination?: pino.DestinationStream;
}

export function pinoLogger(level: Level = 'info', opts: LoggerOptions = {}): pino.Logger {
  const options: pino.LoggerOptions = {
    level,
    base: undefined,
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // Errors as their type, message and stack (the SDK logs `{ error }`, PingBack `{ err }` or a string).
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
  };
  if (opts.pretty) return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

export function createLogger(level: Level = 'info', opts: LoggerOptions = {}): Logger {
  return wrap(pinoLogger(level, opts));
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };
