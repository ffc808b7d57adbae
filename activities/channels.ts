import { ApplicationFailure } from '@temporalio/activity';
import { adapterFor } from '../src/channels';
import { FAILURE_TYPES, PlatformError } from '../src/channels/platform-error';
import type { AdapterContext } from '../src/channels/types';
import { callbackUrl } from '../src/channels/callback-url';
import type { Db } from '../src/db/knex';

interface Deps {
  db: Db;
  adapterContext: AdapterContext;
  publicBaseUrl: string;
}

/** Webhook registration with the platform; the channel row records where it stands. */
export function makeChannelActivities({ db, adapterContext, publicBaseUrl }: Deps) {
  async function load(channelId: string) {
    const ch = await db('channels').where({ id: channelId }).first();
    if (!ch) throw ApplicationFailure.nonRetryable(`channel ${channelId} does not exist`, 'ChannelNotFound');
    return { ch, adapter: adapterFor(ch.type) };
  }

  async function setStatus(channelId: string, status: 'pending' | 'connected' | 'error', message: string | null) {
    await db('channels').where({ id: channelId }).update({ status, status_message: message, updated_at: db.fn.now() });
  }

  async function onPlatformError(channelId: string, err: unknown): Promise<never> {
    if (!(err instanceof PlatformError)) throw err;
    if (!err.retryable) {
      await setStatus(channelId, 'error', err.message);
      throw ApplicationFailure.create({ message: err.message, type: FAILURE_TYPES[err.kind], nonRetryable: true });
    }
    // Still trying: the user sees why it is not connected yet.
    await setStatus(channelId, 'pending', `retrying: ${err.message}`);
    throw ApplicationFailure.create({ message: err.message, type: FAILURE_TYPES[err.kind], nextRetryDelay: err.details.retryAfterMs });
  }

  async function connectChannel({ channelId }: { channelId: string }): Promise<{ status: string }> {
    const { ch, adapter } = await load(channelId);
    if (!ch.is_active) return { status: 'skipped: channel inactive' };
    if (!adapter?.registerWebhook) {
      // Platforms where the user registers the callback URL in the platform's console.
      return { status: 'nothing to register' };
    }
    try {
      const cfg = adapter.config.parse(ch.config);
      const { account } = await adapter.registerWebhook(
        cfg,
        { url: callbackUrl(publicBaseUrl, ch.type, ch.id), secret: ch.webhook_secret },
        adapterContext,
      );
      await setStatus(channelId, 'connected', account ? `webhook registered for ${account}` : 'webhook registered');
      return { status: 'connected' };
    } catch (err) {
      return onPlatformError(channelId, err);
    }
  }

  async function disconnectChannel({ channelId }: { channelId: string }): Promise<{ status: string }> {
    const { ch, adapter } = await load(channelId);
    if (ch.is_active) return { status: 'skipped: channel active again' };
    if (!adapter?.unregisterWebhook) return { status: 'nothing to unregister' };
    try {
      await adapter.unregisterWebhook(adapter.config.parse(ch.config), adapterContext);
      await setStatus(channelId, 'pending', 'deactivated; webhook removed');
      return { status: 'disconnected' };
    } catch (err) {
      return onPlatformError(channelId, err);
    }
  }

  return { connectChannel, disconnectChannel };
}
