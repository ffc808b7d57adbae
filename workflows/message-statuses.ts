import { condition } from '@temporalio/workflow';
import type { MessageStatusUpdate } from '../src/channels/types';

/** One persist call takes at most this many queued statuses. */
const MAX_BATCH = 100;

type Persist = (updates: MessageStatusUpdate[], recordUnknown: boolean) => Promise<{ unmatched: MessageStatusUpdate[] }>;

/**
 * Delivery statuses of a conversation's outbound messages (deterministic: workflow code).
 * Persisted in arrival order, in batches, concurrently with inbound and sends. A status
 * the database cannot match while a send is in flight is parked, not dropped: Meta can
 * report `sent` before the send activity has written the message's id down. Once no send
 * is in flight, a parked status is tried once more and then recorded as unknown.
 */
export function messageStatusQueue(initial: MessageStatusUpdate[], persist: Persist) {
  const queue: MessageStatusUpdate[] = [...initial];
  const parked: MessageStatusUpdate[] = [];

  return {
    push(update: MessageStatusUpdate): void {
      queue.push(update);
    },

    /** What continue-as-new carries over. */
    pending(): MessageStatusUpdate[] {
      return [...parked, ...queue];
    },

    /** Runs until draining with no send in flight; what is left stays in `pending()`. */
    async run(isSending: () => boolean, isDraining: () => boolean): Promise<void> {
      for (;;) {
        await condition(() => queue.length > 0 || (parked.length > 0 && !isSending()) || (isDraining() && !isSending()));
        if (isDraining() && !isSending()) return;
        if (queue.length === 0) {
          // The send that may have owned them is done: try the parked ones again, for the last time.
          queue.push(...parked.splice(0));
        }
        const batch = queue.slice(0, MAX_BATCH);
        const sendInFlight = isSending();
        const { unmatched } = await persist(batch, !sendInFlight);
        queue.splice(0, batch.length);
        parked.push(...unmatched);
      }
    },
  };
}
