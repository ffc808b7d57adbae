import type { ChannelType } from '../channels/types';

/**
 * Conversation workflow ids are derived, never stored first: the ingress can
 * signal-with-start without a database read, and an operator can find a chat's
 * workflow in the Temporal UI from what they see on the platform.
 */
export function conversationWorkflowId(channelType: ChannelType, channelId: string, threadKey: string): string {
  return `conversation/${channelType}/${channelId}/${threadKey}`;
}

export function channelSetupWorkflowId(channelId: string): string {
  return `channel-setup/${channelId}`;
}

/** The inbound poller of a channel that polls its platform: `x-poller/<channel id>`, `email-poller/<channel id>`. */
export function inboundPollerWorkflowId(channelType: ChannelType, channelId: string): string {
  return `${channelType}-poller/${channelId}`;
}
