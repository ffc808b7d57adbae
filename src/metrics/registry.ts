/**
 * Just enough of Prometheus' text exposition format (version 0.0.4) for the api's own
 * counters and histograms: PingBack keeps to its short list of dependencies, and what it
 * measures is a handful of series with small, fixed label sets.
 */

type Labels = Record<string, string>;

interface Metric {
  render(): string[];
}

export class Registry {
  private readonly metrics: Metric[] = [];
  private readonly collectors: Array<() => Promise<void>> = [];

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }

  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help));
  }

  histogram(name: string, help: string, buckets: number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }

  /** Runs before each scrape: gauges read from elsewhere (the database) are set here. One that fails leaves its last values. */
  onScrape(collect: () => Promise<void>): void {
    this.collectors.push(collect);
  }

  /** The whole registry in the text format, ending with a newline. */
  render(): string {
    return this.metrics.flatMap((m) => m.render()).join('\n') + '\n';
  }

  /** As `render`, once the scrape's collectors have run. */
  async scrape(): Promise<string> {
    await Promise.allSettled(this.collectors.map((c) => c()));
    return this.render();
  }

  private add<M extends Metric>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();

  constructor(readonly name: string, private readonly help: string) {}

  inc(labels: Labels, by = 1): void {
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  render(): string[] {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} counter`,
      ...[...this.values].map(([labels, v]) => `${this.name}${labels} ${v}`),
    ];
  }
}

export class Gauge implements Metric {
  private readonly values = new Map<string, number>();

  constructor(readonly name: string, private readonly help: string) {}

  set(labels: Labels, value: number): void {
    this.values.set(labelText(labels), value);
  }

  /** Forgets every series: a recount sets the ones that still exist. */
  reset(): void {
    this.values.clear();
  }

  render(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, ...[...this.values].map(([labels, v]) => `${this.name}${labels} ${v}`)];
  }
}

export class Histogram implements Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number; labels: Labels }>();

  /** `buckets`: upper bounds, ascending; +Inf is implied. */
  constructor(readonly name: string, private readonly help: string, private readonly buckets: number[]) {
    if (buckets.some((b, i) => i > 0 && b <= buckets[i - 1])) throw new Error(`${name}: buckets must ascend`);
  }

  observe(labels: Labels, value: number): void {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0, labels }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) s.counts[i]++;
    s.sum += value;
    s.count++;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [key, s] of this.series) {
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      lines.push(`${this.name}_sum${key} ${s.sum}`, `${this.name}_count${key} ${s.count}`);
    }
    return lines;
  }
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}
