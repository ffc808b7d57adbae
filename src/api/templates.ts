import Router from '@koa/router';
import { adapterContextFrom } from '../channels/adapter-context';
import { openConfig } from '../channels/credentials';
import { PlatformError } from '../channels/platform-error';
import { whatsappConfigSchema } from '../channels/whatsapp/config';
import { listTemplates, type TemplateInfo } from '../channels/whatsapp/templates';
import { isUuid } from '../db/ids';
import { AppError, notFound } from '../errors';
import type { AppDeps, AuthState } from './context';

/**
 * A WhatsApp channel's approved message templates, asked of Graph each time (they change in
 * WhatsApp Manager, not here): what agents pick from once a conversation's 24-hour window
 * has closed, and what a template reply is checked against.
 */
export function channelTemplates(deps: AppDeps) {
  const adapterContext = adapterContextFrom(deps.config);
  return async (accountId: string, channelId: string): Promise<TemplateInfo[]> => {
    const row = isUuid(channelId) ? await deps.db('channels').where({ id: channelId, account_id: accountId }).first('id', 'type', 'config') : undefined;
    if (!row) throw notFound('channel');
    if (row.type !== 'whatsapp') throw new AppError(422, 'templates_not_supported', `${row.type} channels have no message templates; only WhatsApp's do`);
    const cfg = whatsappConfigSchema.parse(openConfig(deps.secrets, row.type, row.config, row.id));
    try {
      return await listTemplates(cfg, adapterContext);
    } catch (err) {
      if (!(err instanceof PlatformError)) throw err;
      if (err.kind === 'auth') throw new AppError(502, 'channel_credentials_rejected', `${err.message}; update the channel's credentials`);
      if (err.kind === 'rejected') throw new AppError(502, 'platform_refused', err.message);
      throw new AppError(503, 'platform_unavailable', `${err.message}; retry later`);
    }
  };
}

export function templateRoutes(deps: AppDeps): Router<AuthState> {
  const router = new Router<AuthState>();
  const templatesOf = channelTemplates(deps);
  router.get('/channels/:id/templates', async (ctx) => {
    ctx.body = { data: await templatesOf(ctx.state.accountId, ctx.params.id) };
  });
  return router;
}
