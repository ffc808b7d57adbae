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

/**
 * CPU seconds (user + system) a process and its live descendants have used so far,
 * from /proc (Linux): the full Temporal server runs under a wrapper script.
 */
export function cpuSeconds(pid: number): number {
  return ownCpuSeconds(pid) + childrenOf(pid).reduce((sum, child) => sum + cpuSeconds(child), 0);
}

function childrenOf(pid: number): number[] {
  try {
    const text = require('node:fs').readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8') as string;
    return text.split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function ownCpuSeconds(pid: number): number {
  try {
    const stat = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8') as string;
    // Fields after the command name, which may itself hold spaces: utime and stime are 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/**
 * CPU seconds of every process whose command name is `comm` (PostgreSQL's backends, say),
 * by pid, so a caller can take differences without a backend that exited meanwhile
 * making the total go backwards.
 */
export function cpuSecondsByPid(comm: string): Map<number, number> {
  const fs = require('node:fs') as typeof import('node:fs');
  const byPid = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) byPid.set(Number(entry), ownCpuSeconds(Number(entry)));
    } catch {
      // gone meanwhile
    }
  }
  return byPid;
}

/** CPU used between two readings of `cpuSecondsByPid` by the processes alive at the second. */
export function cpuSecondsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, cpu] of after) total += cpu - (before.get(pid) ?? 0);
  return total;
}
