import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';

/**
 * The ceiling probe: the least a per-conversation workflow can do with a message
 * (one activity inserting it), so PingBack's figures can be read as a share of
 * what this Temporal server allows on this machine.
 */
export interface ProbeMessage {
  id: string;
  conversation: string;
  text: string;
}

export const probeMessage = defineSignal<[ProbeMessage]>('probeMessage');

const { insertProbeMessage } = proxyActivities<{ insertProbeMessage(m: ProbeMessage): Promise<void> }>({
  startToCloseTimeout: '30s',
});

export async function probeConversation(): Promise<void> {
  const queue: ProbeMessage[] = [];
  setHandler(probeMessage, (m) => void queue.push(m));
  for (;;) {
    await condition(() => queue.length > 0);
    await insertProbeMessage(queue.shift()!);
  }
}
