import type { SendProgress } from './types';

/**
 * A reply a platform takes as several messages (a text, then a message per file): each part is
 * sent unless an earlier attempt already sent it, and recorded as soon as it is out, so a retry
 * after a failure part-way sends only what is missing (see SendProgress). `ids` are the platform
 * ids of the parts, in order; the first is the reply's.
 */
export function partsOf(progress: SendProgress | undefined) {
  const done = progress?.done ?? {};
  const ids: string[] = [];
  return {
    ids,
    async send(name: string, sendPart: () => Promise<string>): Promise<void> {
      if (done[name]) return void ids.push(done[name]);
      progress?.beforePart();
      const id = await sendPart();
      await progress?.record(name, id);
      ids.push(id);
    },
  };
}
