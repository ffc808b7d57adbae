/** Percentiles and an open-loop load generator for the benchmark. */

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export const summary = (values: number[]) => ({
  n: values.length,
  p50: round(percentile(values, 50)),
  p99: round(percentile(values, 99)),
  max: round(Math.max(...values)),
});

export const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * Offers `rate` requests a second for `seconds`, whatever the responses do:
 * a slow system builds a backlog of requests in flight instead of slowing the
 * offer down (open loop), so latency under load is measured honestly. At most
 * `maxInFlight` are outstanding; past that the offer is recorded as dropped.
 */
export async function openLoop(
  rate: number,
  seconds: number,
  send: (i: number) => Promise<void>,
  maxInFlight = 2_000,
): Promise<{ offered: number; dropped: number; elapsedMs: number }> {
  const total = Math.round(rate * seconds);
  const start = performance.now();
  let inFlight = 0;
  let dropped = 0;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (inFlight >= maxInFlight) {
      dropped++;
      continue;
    }
    inFlight++;
    // A send that throws counts as not acknowledged; it must not end the run.
    pending.push(send(i).catch(() => undefined).finally(() => inFlight--));
  }
  await Promise.allSettled(pending);
  return { offered: total, dropped, elapsedMs: performance.now() - start };
}

/** Peak resident memory of a process, from /proc (Linux). */
export function peakRssMb(pid: number): number | null {
  try {
    const status = require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8') as string;
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}
