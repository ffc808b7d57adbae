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
 * Messages committed per second while commits flowed: the slope between the 10th and the 90th
 * percentile commit times. Measured from the block's start to its last commit instead, a rate
 * would read the last message's end-to-end latency as lost throughput (two systems that both
 * committed everything offered differed by 1-3 % that way); the slope reads the same offered
 * rate for both, and a backlog's drain rate for one that fell behind.
 */
export function steadyRate(commitTimesMs: number[]): number {
  const t = [...commitTimesMs].sort((a, b) => a - b);
  const lo = Math.floor(0.1 * (t.length - 1));
  const hi = Math.ceil(0.9 * (t.length - 1));
  return hi > lo && t[hi] > t[lo] ? (hi - lo) / ((t[hi] - t[lo]) / 1000) : NaN;
}

/** The middle value (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Results of the same shape (one per round) folded into one: each number the median of its
 * counterparts (those that are numbers: null or NaN where a round had nothing to measure; null if
 * none had), each flag true only if true in all, other values (and lists, such as per-second
 * series) the first result's.
 */
export function medianOf<T>(results: T[]): T {
  if (results.some((r) => typeof r === 'number')) {
    const numbers = results.filter((r): r is T & number => typeof r === 'number' && Number.isFinite(r));
    return (numbers.length ? round(median(numbers), 2) : null) as T;
  }
  const [first] = results;
  if (typeof first === 'boolean') return results.every(Boolean) as T;
  if (first === null || typeof first !== 'object' || Array.isArray(first)) return first;
  return Object.fromEntries(
    Object.keys(first).map((k) => [k, medianOf(results.map((r) => (r as Record<string, unknown>)[k]))]),
  ) as T;
}

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

/**
 * The q-quantile of the observations made between two readings of a histogram, interpolated
 * within its bucket as Prometheus' histogram_quantile() does (so only as fine as the buckets).
 */
export function histogramQuantile(q: number, before: Map<number, number>, after: Map<number, number>): number | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i] < rank) continue;
    // Past the largest finite bound: all that can be said is "more than that".
    if (bounds[i] === Infinity) return bounds[i - 1] ?? null;
    const lower = i === 0 ? 0 : bounds[i - 1];
    const below = i === 0 ? 0 : counts[i - 1];
    return lower + ((bounds[i] - lower) * (rank - below)) / Math.max(1, counts[i] - below);
  }
  return null;
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

/** The largest peak RSS in a process tree (a server started through a script is the script's child). */
export function peakRssMbOfTree(pid: number): number | null {
  const own = peakRssMb(pid);
  return childrenOf(pid).reduce<number | null>((max, child) => Math.max(max ?? 0, peakRssMbOfTree(child) ?? 0), own);
}

/**
 * CPU seconds (user + system) a process has used so far, with its children: the live ones
 * (the full Temporal server runs under a wrapper script) and, through the kernel's
 * accounting, those it has reaped. From /proc (Linux).
 */
export function cpuSeconds(pid: number): number {
  return ownCpuSeconds(pid) + childrenOf(pid).reduce((sum, child) => sum + cpuSeconds(child), 0);
}

function childrenOf(pid: number): number[] {
  try {
    return readProc(`${pid}/task/${pid}/children`).split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds stolen from this VM by its hypervisor so far, over all CPUs (/proc/stat's steal). */
export function stolenSeconds(): number {
  try {
    const fields = readProc('stat').split('\n')[0].trim().split(/\s+/);
    return Number(fields[8]) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** utime + stime + cutime + cstime: the process and the children it has waited for. */
function ownCpuSeconds(pid: number): number {
  try {
    const stat = readProc(`${pid}/stat`);
    // Fields after the command name, which may itself hold spaces: utime, stime, cutime, cstime are 14th–17th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of every process named `comm` (all of PostgreSQL: a backend that exits is
 * then counted in the postmaster's reaped-children time, so the total never goes back).
 */
export function cpuSecondsOf(comm: string): number {
  let total = 0;
  for (const entry of require('node:fs').readdirSync('/proc') as string[]) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readProc(`${entry}/comm`).trim() === comm) total += ownCpuSeconds(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

const readProc = (file: string): string => require('node:fs').readFileSync(`/proc/${file}`, 'utf8');

/** How many of `timesMs` fell in each whole second from `startMs` (earlier ones in the first). */
export function perSecond(timesMs: number[], startMs: number): number[] {
  const counts: number[] = [];
  for (const t of timesMs) {
    const s = Math.max(0, Math.floor((t - startMs) / 1000));
    counts[s] = (counts[s] ?? 0) + 1;
  }
  return Array.from(counts, (v) => v ?? 0);
}
