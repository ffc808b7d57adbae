import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { adapterFor, callbackUrl } from '../src/channels';
import { openChannelSecret, openConfig } from '../src/channels/credentials';
import { PlatformError } from '../src/channels/platform-error';
import type { AdapterContext } from '../src/channels/types';
import type { SecretBox } from '../src/crypto/secret-box';
import type { Db } from '../src/db/knex';
import { recordPlatformAccount } from '../src/db/channel-state';
import { CHANNEL_NOT_FOUND } from '../src/temporal/failure-types';
import { startOrWakePoller, wakePoller } from '../src/temporal/pollers';
import { platformFailure } from './platform-failure';

interface Deps {
  db: Db;
  secrets: SecretBox;
  adapterContext: AdapterContext;
  publicBaseUrl: string;
  /** Starts and wakes inbound pollers (channels that poll their platform). */
  temporal?: Client;
}

/** Webhook registration with the platform; the channel row records where it stands. */
export function makeChannelActivities({ db, secrets, adapterContext, publicBaseUrl, temporal }: Deps) {
  async function setStatus(channelId: string, status: 'pending' | 'connected' | 'error', message: string | null) {
    await db('channels').where({ id: channelId }).update({ status, status_message: message, reconnect_required_at: null, updated_at: db.fn.now() });
  }

  async function onPlatformError(channelId: string, err: unknown): Promise<never> {
    if (!(err instanceof PlatformError)) throw err;
    if (!err.retryable) {
      await setStatus(channelId, 'error', err.message);
      throw platformFailure(err);
    }
    // Still trying: the user sees why it is not connected yet.
    await setStatus(channelId, 'pending', `retrying: ${err.message}`);
    throw platformFailure(err);
  }

  async function syncChannelRegistration({ channelId }: { channelId: string }): Promise<{ outcome: string }> {
    const ch = await db('channels').where({ id: channelId }).first();
    if (!ch) throw ApplicationFailure.nonRetryable(`channel ${channelId} does not exist`, CHANNEL_NOT_FOUND);
    const adapter = adapterFor(ch.type);
    const cfg = adapter.config.parse(openConfig(secrets, ch.type, ch.config, ch.id));
    const polls = adapter.poll?.polls(cfg) ?? false;
    try {
      if (ch.is_active) {
        if (adapter.registerWebhook) {
          let registered = { cfg, secret: openChannelSecret(secrets, ch, 'webhook_secret') };
          let { account } = await adapter.registerWebhook(registered.cfg, { url: callbackUrl(publicBaseUrl, ch.type, ch.id), secret: registered.secret }, adapterContext);
          // A run replaced meanwhile (a rotation, a new token) may have registered the newer
          // settings before this call landed: the platform must end up with the newest.
          for (let i = 0; i < 3; i++) {
            const now = await db('channels').where({ id: channelId }).first();
            if (!now?.is_active) break;
            const latest = { cfg: adapter.config.parse(openConfig(secrets, now.type, now.config, now.id)), secret: openChannelSecret(secrets, now, 'webhook_secret') };
            if (JSON.stringify(latest) === JSON.stringify(registered)) break;
            registered = latest;
            ({ account } = await adapter.registerWebhook(latest.cfg, { url: callbackUrl(publicBaseUrl, now.type, now.id), secret: latest.secret }, adapterContext));
          }
          await setStatus(channelId, 'connected', account ? `webhook registered for ${account}` : 'webhook registered');
          return { outcome: 'registered' };
        }
        if (!adapter.checkCredentials) return { outcome: 'nothing to register' };
        const { platformAccountId, account } = await adapter.checkCredentials(cfg, adapterContext);
        await recordPlatformAccount(db, ch.id, platformAccountId);
        // Before the poller runs, so an error it meets (a missing DM permission) is not overwritten.
        await setStatus(channelId, 'connected', `connected as ${account}; ${polls ? 'polling for new messages' : 'messages arrive by webhook at callback_url'}`);
        // Started only once the credentials work; a running poller (paused on a 401, or one
        // no longer wanted after a switch to webhooks) is woken to re-read the channel.
        if (polls) await startOrWakePoller(requireTemporal(), Context.current().info.taskQueue, ch.type, ch.id);
        else if (adapter.poll) await wakePoller(requireTemporal(), ch.type, ch.id);
        return { outcome: 'credentials checked' };
      }
      // Switched off: a poller sees it on its next look and ends; waking it makes that now.
      if (adapter.poll) await wakePoller(requireTemporal(), ch.type, ch.id);
      if (!adapter.unregisterWebhook) {
        if (adapter.checkCredentials) await setStatus(channelId, 'pending', 'channel deactivated');
        return { outcome: 'nothing to unregister' };
      }
      await adapter.unregisterWebhook(cfg, adapterContext);
      await setStatus(channelId, 'pending', 'channel deactivated; webhook removed');
      return { outcome: 'unregistered' };
    } catch (err) {
      return onPlatformError(channelId, err);
    }
  }

  function requireTemporal(): Client {
    if (!temporal) throw new Error('channel activities need a Temporal client to manage inbound pollers');
    return temporal;
  }

  return { syncChannelRegistration };
}
