import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { connectChannel, disconnectChannel } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  // The platform may be down for a while; the channel shows `pending` until it answers.
  scheduleToCloseTimeout: '24h',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '5m',
    nonRetryableErrorTypes: ['PlatformAuthError', 'PlatformRejected', 'ChannelNotFound'],
  },
});

export interface ChannelSetupInput {
  channelId: string;
  action: 'connect' | 'disconnect';
}

/**
 * Registers (or removes) a channel's webhook with its platform, retrying through
 * outages. The activities record the outcome on the channel row, so the API shows
 * `pending`, `connected` or `error` with the platform's message.
 */
export async function channelSetupWorkflow(input: ChannelSetupInput): Promise<void> {
  if (input.action === 'connect') await connectChannel({ channelId: input.channelId });
  else await disconnectChannel({ channelId: input.channelId });
}
