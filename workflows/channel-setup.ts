import { proxyActivities } from '@temporalio/workflow';
import { CHANNEL_NOT_FOUND, PLATFORM_FAILURE } from '../src/temporal/failure-types';
import type { Activities } from '../activities';

const { syncChannelRegistration } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  // The platform may be down for a while; the channel shows `pending` with the reason until it answers.
  scheduleToCloseTimeout: '24h',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '5m',
    nonRetryableErrorTypes: [PLATFORM_FAILURE.auth, PLATFORM_FAILURE.rejected, CHANNEL_NOT_FOUND],
  },
});

export interface ChannelSetupInput {
  channelId: string;
}

/**
 * Brings the platform's webhook registration in line with the channel row: an
 * active channel is registered (credentials checked, webhook set with the
 * channel's secret), an inactive one unregistered. The API starts it after every
 * change that matters (create, token change, activation), replacing a run still
 * retrying, so the newest state always wins.
 */
export async function channelSetupWorkflow(input: ChannelSetupInput): Promise<void> {
  await syncChannelRegistration({ channelId: input.channelId });
}
