import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import { z } from 'zod';
import { adapterFor, callbackUrl } from '../channels';
import { adapterContextFrom } from '../channels/adapter-context';
import { PlatformError } from '../channels/platform-error';
import { mergeConfigPatch, newChannelSecret, openChannelSecret, openConfig, presentConfig, sealChannelSecret, sealConfig } from '../channels/credentials';
import { channelTypeSchema } from '../channels/types';
import { ChannelRow, findChannel, insertChannel, updateChannel } from '../db/channels';
import { isUuid } from '../db/ids';
import { AppError, notFound } from '../errors';
import { readJsonBody } from '../http/body';
import { channelSetupWorkflow } from '../../workflows/channel-setup';
import { channelSetupWorkflowId } from '../temporal/ids';
import type { AppDeps, AuthState } from './context';
import { adminOnly } from './auth';
import { presentChannelSummary } from '../inbox/channels';
import { channelStatusSchema } from '../inbox/schemas';
import { validate } from './validate';

export const createChannelSchema = z.object({
  type: channelTypeSchema,
  name: z.string().trim().min(1).max(200).optional(),
  config: z.record(z.string(), z.unknown()).default({}),
});

export const updateChannelSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    /** Merged into the stored config; a secret sent back masked keeps the stored one. */
    config: z.record(z.string(), z.unknown()).optional(),
    is_active: z.boolean().optional(),
  })
  .strict();

/** GET /api/channels/{id}/health: how the channel stands at its platform, asked just now. */
export const channelHealthSchema = z.object({
  checked_at: z.string().describe('ISO 8601 time'),
  /** Nothing needs attention: the channel is on and the platform took its credentials (and, for Telegram, its webhook points here). */
  ok: z.boolean(),
  status: channelStatusSchema,
  is_active: z.boolean(),
  /** The platform account the credentials act for (a bot's @username, a number, an address); null when nothing was asked or it refused. */
  account: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).describe('Facts the platform reported, as it named them'),
  problems: z.array(z.string()).describe('What needs attention, in words; none when all is well'),
  /** The platform's refusal (rate_limited, unavailable, rejected, auth: see PlatformError), when it refused: its answer, not an error of this request. */
  error: z.object({ kind: z.enum(['rate_limited', 'unavailable', 'rejected', 'auth']), message: z.string() }).nullable(),
});
type ChannelHealthAnswer = z.infer<typeof channelHealthSchema>;

const CONSOLE_HINT = "waiting for the platform: paste callback_url and verify_token into the platform's webhook settings";
const CHECKING = 'checking the credentials with the platform';

/**
 * Whether a change to the channel has work for the setup workflow: registering a webhook
 * (`api` setup), or checking credentials and starting or stopping an inbound poller.
 */
const hasSetupWork = (adapter: ReturnType<typeof adapterFor>) => adapter.setup === 'api' || adapter.checkCredentials !== undefined;

export function channelRoutes(deps: AppDeps): Router<AuthState> {
  const router = new Router<AuthState>();
  const { db, secrets } = deps;

  /** What admins see: the summary agents see, and how to connect it (credentials masked). */
  const present = (row: ChannelRow) => ({
    ...presentChannelSummary(row),
    config: presentConfig(secrets, row.type, row.config, row.id),
    setup: adapterFor(row.type).setup,
    callback_url: callbackUrl(deps.config.PUBLIC_BASE_URL, row.type, row.id),
    verify_token: openChannelSecret(secrets, row, 'verify_token'),
    created_at: row.created_at,
  });

  /** Hands the platform registration to Temporal; without it the channel would never connect. */
  const syncRegistration = (channelId: string) =>
    deps.temporal.workflow
      .start(channelSetupWorkflow, {
        workflowId: channelSetupWorkflowId(channelId),
        taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
        args: [{ channelId }],
        // A run still retrying an older state is replaced: the newest state wins.
        workflowIdConflictPolicy: 'TERMINATE_EXISTING',
      })
      .catch((err) => {
        throw new AppError(503, 'temporal_unavailable', 'could not start the channel setup; retry later', undefined, err);
      });

  /**
   * Has the setup workflow bring the platform in line with a changed channel (status
   * pending meanwhile). All or nothing: when Temporal will not take it, the change the
   * platform would never hear of is undone and the request fails.
   */
  async function resync(before: ChannelRow, after: ChannelRow): Promise<void> {
    const adapter = adapterFor(after.type);
    if (after.is_active) {
      // Written before the workflow starts: a setup finishing within milliseconds must not be overwritten.
      const statusMessage = adapter.setup === 'api' ? 'registering with the platform' : CHECKING;
      await db('channels').where({ id: after.id }).update({ status: 'pending', status_message: statusMessage });
      Object.assign(after, { status: 'pending', status_message: statusMessage });
    }
    await syncRegistration(after.id).catch(async (err) => {
      await undoChange(before, after);
      deps.channelLookup.invalidate(before.id);
      throw err;
    });
  }

  /**
   * Puts back what this request changed, where it still holds what the request wrote: a
   * change made meanwhile by another request (a rotation, a new token) is left alone.
   */
  async function undoChange(before: ChannelRow, after: ChannelRow): Promise<void> {
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    await db.transaction(async (trx) => {
      const now: ChannelRow | undefined = await trx('channels').where({ id: before.id }).forUpdate().first();
      if (!now) return;
      const undo: Record<string, unknown> = {};
      for (const k of ['name', 'config', 'is_active', 'webhook_secret', 'verify_token'] as const) {
        if (!same(before[k], after[k]) && same(now[k], after[k])) undo[k] = k === 'config' ? JSON.stringify(before.config) : before[k];
      }
      if (now.status === after.status && now.status_message === after.status_message) Object.assign(undo, { status: before.status, status_message: before.status_message });
      if (Object.keys(undo).length > 0) await trx('channels').where({ id: before.id }).update(undo);
    });
  }

  router.post('/channels', adminOnly, async (ctx) => {
    const input = validate(createChannelSchema, (await readJsonBody(ctx)).json);
    const adapter = adapterFor(input.type);
    const config = validate(adapter.config, input.config, `${input.type} config`) as Record<string, unknown>;
    const id = randomUUID();
    const row = await insertChannel(db, {
      id,
      accountId: ctx.state.accountId,
      type: input.type,
      name: input.name ?? `${input.type} channel`,
      config: sealConfig(secrets, input.type, config, id),
      webhookSecret: sealChannelSecret(secrets, id, 'webhook_secret', newChannelSecret()),
      verifyToken: sealChannelSecret(secrets, id, 'verify_token', newChannelSecret()),
      status: adapter.setup === 'none' ? 'connected' : 'pending',
      statusMessage: adapter.checkCredentials ? CHECKING : adapter.setup === 'console' ? CONSOLE_HINT : null,
    });
    if (hasSetupWork(adapter)) {
      // Undone if Temporal will not take it, so the client's retry starts clean.
      await syncRegistration(row.id).catch(async (err) => {
        await db('channels').where({ id: row.id }).delete();
        throw err;
      });
    }
    deps.log.info('channel created', { account_id: row.account_id, channel_id: row.id, type: row.type });
    ctx.status = 201;
    ctx.body = present(row);
  });

  // Agents see what the inbox needs of a channel (its name, type, state), not its configuration.
  const presentFor = (role: AuthState['role']) => (row: ChannelRow) => (role === 'admin' ? present(row) : presentChannelSummary(row));

  router.get('/channels', async (ctx) => {
    const rows: ChannelRow[] = await db('channels').where({ account_id: ctx.state.accountId }).orderBy('created_at', 'asc');
    ctx.body = { data: rows.map(presentFor(ctx.state.role)) };
  });

  router.get('/channels/:id', async (ctx) => {
    const row = isUuid(ctx.params.id) ? await findChannel(db, ctx.state.accountId, ctx.params.id) : undefined;
    if (!row) throw notFound('channel');
    ctx.body = presentFor(ctx.state.role)(row);
  });

  router.patch('/channels/:id', adminOnly, async (ctx) => {
    if (!isUuid(ctx.params.id)) throw notFound('channel');
    const input = validate(updateChannelSchema, (await readJsonBody(ctx)).json);
    const { before, after } = await updateChannel(db, ctx.state.accountId, ctx.params.id, (current) => {
      const changes: Partial<Pick<ChannelRow, 'name' | 'config' | 'is_active'>> = {};
      if (input.name !== undefined) changes.name = input.name;
      if (input.is_active !== undefined) changes.is_active = input.is_active;
      if (input.config !== undefined) {
        const adapter = adapterFor(current.type);
        const merged = mergeConfigPatch(current.type, openConfig(secrets, current.type, current.config, current.id), input.config);
        const config = validate(adapter.config, merged, `${current.type} config`) as Record<string, unknown>;
        changes.config = sealConfig(secrets, current.type, config, current.id);
      }
      return changes;
    });
    deps.channelLookup.invalidate(after.id);
    const adapter = adapterFor(after.type);
    const activeChanged = before.is_active !== after.is_active;
    const configChanged = input.config !== undefined && JSON.stringify(openConfig(secrets, after.type, after.config, after.id)) !== JSON.stringify(openConfig(secrets, before.type, before.config, before.id));
    if (hasSetupWork(adapter) && (activeChanged || (configChanged && after.is_active))) await resync(before, after);
    deps.log.info('channel updated', {
      account_id: after.account_id,
      channel_id: after.id,
      is_active: after.is_active,
      fields: Object.keys(input),
    });
    ctx.body = present(after);
  });

  /**
   * How the channel stands at its platform right now, asked now (Telegram's getWebhookInfo, a
   * cheap authenticated call elsewhere). Read only: the channel's status changes through its
   * sends, polls and setup, not through someone looking.
   */
  const adapterContext = adapterContextFrom(deps.config);
  router.get('/channels/:id/health', adminOnly, async (ctx) => {
    const row = isUuid(ctx.params.id) ? await findChannel(db, ctx.state.accountId, ctx.params.id) : undefined;
    if (!row) throw notFound('channel');
    const adapter = adapterFor(row.type);
    const checked = { checked_at: new Date().toISOString(), status: row.status, is_active: row.is_active };
    if (!adapter.health && !adapter.checkCredentials) {
      ctx.body = { ...checked, ok: row.is_active, account: null, details: {}, problems: row.is_active ? [] : ['the channel is deactivated'], error: null } satisfies ChannelHealthAnswer;
      return;
    }
    try {
      const cfg = adapter.config.parse(openConfig(secrets, row.type, row.config, row.id));
      const health = adapter.health
        ? await adapter.health(cfg, adapterContext, { callbackUrl: callbackUrl(deps.config.PUBLIC_BASE_URL, row.type, row.id) })
        : await adapter.checkCredentials!(cfg, adapterContext).then((c) => ({ account: c.account, details: { platform_account_id: c.platformAccountId }, problems: [] as string[] }));
      const problems = [...(row.is_active ? [] : ['the channel is deactivated']), ...health.problems];
      ctx.body = { ...checked, ok: problems.length === 0, account: health.account ?? null, details: health.details, problems, error: null } satisfies ChannelHealthAnswer;
    } catch (err) {
      if (!(err instanceof PlatformError)) throw err;
      // The platform's own answer is the result here, not a failure of this request.
      ctx.body = { ...checked, ok: false, account: null, details: {}, problems: [err.message], error: { kind: err.kind, message: err.message } } satisfies ChannelHealthAnswer;
    }
  });

  /**
   * New webhook_secret and verify_token, for when one may have leaked. The old ones stop
   * working at once: Telegram's webhook is registered again with the new secret, the
   * answer shows the new verify_token to paste into Meta's or the mail provider's settings,
   * and web chat visitors start new sessions (their tokens were signed with the old secret;
   * their conversations stay in the inbox).
   */
  router.post('/channels/:id/rotate-secrets', adminOnly, async (ctx) => {
    if (!isUuid(ctx.params.id)) throw notFound('channel');
    const { before, after } = await updateChannel(db, ctx.state.accountId, ctx.params.id, (current) => ({
      webhook_secret: sealChannelSecret(secrets, current.id, 'webhook_secret', newChannelSecret()),
      verify_token: sealChannelSecret(secrets, current.id, 'verify_token', newChannelSecret()),
    }));
    deps.channelLookup.invalidate(after.id);
    // Only a platform PingBack registers with holds a copy of the secret to replace.
    if (adapterFor(after.type).setup === 'api' && after.is_active) await resync(before, after);
    deps.log.info('channel secrets rotated', { account_id: after.account_id, channel_id: after.id, type: after.type });
    ctx.body = present(after);
  });

  return router;
}
