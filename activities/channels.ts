import { ApplicationFailure } from '@temporalio/activity';
import { adapterFor } from '../src/channels';
import { callbackUrl } from '../src/channels/callback-url';
import { openConfig } from '../src/channels/credentials';
import { FAILURE_TYPES, PlatformError } from '../src/channels/platform-error';
import type { AdapterContext } from '../src/channels/types';
import type { SecretBox } from '../src/crypto/secret-box';
import type { Db } from '../src/db/knex';

interface Deps {
  db: Db;
  secrets: SecretBox;
  adapterContext: AdapterContext;
  publicBaseUrl: string;
}

/** Webhook registration with the platform; the channel row records where it stands. */
export function makeChannelActivities({ db, secrets, adapterContext, publicBaseUrl }: Deps) {
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

  async function syncChannelRegistration({ channelId }: { channelId: string }): Promise<{ outcome: string }> {
    const ch = await db('channels').where({ id: channelId }).first();
    if (!ch) throw ApplicationFailure.nonRetryable(`channel ${channelId} does not exist`, 'ChannelNotFound');
    const adapter = adapterFor(ch.type);
    const cfg = adapter.config.parse(openConfig(secrets, ch.type, ch.config));
    try {
      if (ch.is_active) {
        if (!adapter.registerWebhook) return { outcome: 'nothing to register' };
        const { account } = await adapter.registerWebhook(
          cfg,
          { url: callbackUrl(publicBaseUrl, ch.type, ch.id), secret: ch.webhook_secret },
          adapterContext,
        );
        await setStatus(channelId, 'connected', account ? `webhook registered for ${account}` : 'webhook registered');
        return { outcome: 'registered' };
      }
      if (!adapter.unregisterWebhook) return { outcome: 'nothing to unregister' };
      await adapter.unregisterWebhook(cfg, adapterContext);
      await setStatus(channelId, 'pending', 'channel deactivated; webhook removed');
      return { outcome: 'unregistered' };
    } catch (err) {
      return onPlatformError(channelId, err);
    }
  }

  return { syncChannelRegistration };
}
