import Router from '@koa/router';
import { z } from 'zod';
import { adapterFor } from '../channels';
import { callbackUrl } from '../channels/callback-url';
import { maskConfig } from '../channels/mask';
import { channelTypeSchema } from '../channels/types';
import { ChannelRow, findChannel, insertChannel } from '../db/channels';
import { isUuid } from '../db/ids';
import { AppError, notFound } from '../errors';
import { readJsonBody } from '../http/body';
import { channelSetupWorkflow } from '../../workflows/channel-setup';
import { channelSetupWorkflowId } from '../temporal/ids';
import type { AppDeps, AuthState } from './context';
import { validate } from './validate';

export const createChannelSchema = z.object({
  type: channelTypeSchema,
  name: z.string().trim().min(1).max(200).optional(),
  config: z.record(z.string(), z.unknown()).default({}),
});

export function presentChannel(row: ChannelRow, publicBaseUrl: string) {
  const adapter = adapterFor(row.type);
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    config: maskConfig(row.config, adapter?.secretFields ?? []),
    is_active: row.is_active,
    status: row.status,
    status_message: row.status_message,
    callback_url: callbackUrl(publicBaseUrl, row.type, row.id),
    verify_token: row.verify_token,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function channelRoutes(deps: AppDeps): Router<AuthState> {
  const router = new Router<AuthState>();

  router.post('/channels', async (ctx) => {
    const input = validate(createChannelSchema, (await readJsonBody(ctx)).json);
    const adapter = adapterFor(input.type);
    if (!adapter) {
      throw new AppError(422, 'channel_type_unsupported', `${input.type} channels are not available in this version yet`);
    }
    const config = validate(adapter.config, input.config, `${input.type} config`);
    const row = await insertChannel(deps.db, {
      accountId: ctx.state.accountId,
      type: input.type,
      name: input.name ?? `${input.type} channel`,
      config: config as object,
    });
    if (adapter.registerWebhook) {
      try {
        await deps.temporal.workflow.start(channelSetupWorkflow, {
          workflowId: channelSetupWorkflowId(row.id),
          taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
          args: [{ channelId: row.id, action: 'connect' }],
          workflowIdConflictPolicy: 'TERMINATE_EXISTING',
        });
      } catch (err) {
        // Without its setup workflow the channel would sit in `pending` forever: undo, let the client retry.
        await deps.db('channels').where({ id: row.id }).delete();
        throw new AppError(503, 'temporal_unavailable', 'could not start the channel setup; retry later', {
          cause: (err as Error).message,
        });
      }
    }
    deps.log.info('channel created', { account_id: row.account_id, channel_id: row.id, type: row.type });
    ctx.status = 201;
    ctx.body = presentChannel(row, deps.config.PUBLIC_BASE_URL);
  });

  router.get('/channels', async (ctx) => {
    const rows: ChannelRow[] = await deps.db('channels').where({ account_id: ctx.state.accountId }).orderBy('created_at', 'asc');
    ctx.body = { data: rows.map((r) => presentChannel(r, deps.config.PUBLIC_BASE_URL)) };
  });

  router.get('/channels/:id', async (ctx) => {
    const row = isUuid(ctx.params.id) ? await findChannel(deps.db, ctx.state.accountId, ctx.params.id) : undefined;
    if (!row) throw notFound('channel');
    ctx.body = presentChannel(row, deps.config.PUBLIC_BASE_URL);
  });

  return router;
}
