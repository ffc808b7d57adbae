import type { PlatformErrorKind } from '../channels/platform-error';

/**
 * The failure types activities throw: stable names shown in the Temporal UI and matched by
 * the retry policies in workflows/ (which import them from here, so a rename cannot leave a
 * policy matching nothing). Constants only: workflow code may import this module.
 */
export const PLATFORM_FAILURE = {
  rate_limited: 'PlatformRateLimited',
  unavailable: 'PlatformUnavailable',
  rejected: 'PlatformRejected',
  auth: 'PlatformAuthError',
} as const satisfies Record<PlatformErrorKind, string>;

/** The row an activity was started for is gone (deleted meanwhile): no retry can bring it back. */
export const CHANNEL_NOT_FOUND = 'ChannelNotFound';
export const MESSAGE_NOT_FOUND = 'MessageNotFound';
/** A reply waiting for its channel to be reconnected: retried, without calling the platform, until it is (or it is too old). */
export const WAITING_FOR_CHANNEL = 'WaitingForChannel';
