import { defineSignal } from '@temporalio/workflow';

/**
 * Tells an inbound poller (X DMs, an IMAP mailbox) to re-read its channel now: credentials or
 * settings changed, switched off or on, switched to webhooks. One signal for every poller, so
 * the channel lifecycle wakes any of them the same way.
 */
export const pollerWakeSignal = defineSignal('wake');
