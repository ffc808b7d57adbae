import type { LogLevel, LogMetadata, Logger as SdkLogger } from '@temporalio/worker';
import type { Level, Logger } from '../log';

/** A conversation workflow's id: `conversation/<channel type>/<channel id>/<thread>` (src/temporal/ids.ts). */
const CONVERSATION_ID = /^conversation\/([a-z]+)\/([0-9a-f-]{36})\//;

/**
 * The Temporal SDK's logger (Runtime.logger: its own lines, workflows' and activities' log calls,
 * and core's, forwarded) writing PingBack's pino lines. The SDK's metadata becomes fields
 * (workflow_id, run_id, activity_type, task_queue, …), and a conversation's channel type and
 * channel id are bound from its workflow id, so one channel's lines are found by a field.
 */
export function sdkLogger(log: Logger): SdkLogger {
  const write = (level: LogLevel, message: string, meta: LogMetadata = {}) => {
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(meta)) fields[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v;
    const conversation = typeof meta.workflowId === 'string' ? CONVERSATION_ID.exec(meta.workflowId) : null;
    if (conversation) Object.assign(fields, { channel_type: conversation[1], channel_id: conversation[2] });
    log[LEVELS[level]](message, fields);
  };
  return {
    log: write,
    trace: (m, meta) => write('TRACE', m, meta),
    debug: (m, meta) => write('DEBUG', m, meta),
    info: (m, meta) => write('INFO', m, meta),
    warn: (m, meta) => write('WARN', m, meta),
    error: (m, meta) => write('ERROR', m, meta),
  };
}

const LEVELS: Record<LogLevel, Level> = { TRACE: 'debug', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/** PingBack's LOG_LEVEL as the SDK names it, for its core's filter. */
export const sdkLevel = (level: Level): LogLevel => level.toUpperCase() as LogLevel;
