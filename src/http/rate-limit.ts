/**
 * A fixed-window counter per key, in this process's memory: enough to stop one
 * browser tab or script flooding a public endpoint. Several api processes each
 * count on their own, so the effective limit is per process.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  /** Counts one hit for `key`: 0 when allowed, else the milliseconds until the key's window ends. */
  take(key: string): number {
    const now = this.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      if (this.windows.size >= this.maxKeys) this.sweep(now);
      w = { start: now, count: 0 };
      this.windows.delete(key); // to the end: the map stays in order of window start, for sweep
      this.windows.set(key, w);
    }
    if (w.count >= this.limit) return w.start + this.windowMs - now;
    w.count++;
    return 0;
  }

  /** Drops ended windows; if all are current (a flood of new keys), the oldest, so memory stays bounded. */
  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(k);
    for (const k of this.windows.keys()) {
      if (this.windows.size < this.maxKeys) break;
      this.windows.delete(k);
    }
  }
}
