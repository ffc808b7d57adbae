/** Reading a Prometheus text page (the api's, the worker's SDK metrics, the Temporal server's). */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Every sample on the page; comments and blank lines skipped. */
export function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Samples of `name` whose labels include all of `labels` (others may be there too). */
export function matching(text: string, name: string, labels: Record<string, string> = {}): Sample[] {
  return samples(text).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The sum of `name` over its label sets that include `labels`. */
export function sum(text: string, name: string, labels: Record<string, string> = {}): number {
  return matching(text, name, labels).reduce((total, s) => total + s.value, 0);
}

/** The value of the one sample of `name` whose labels are exactly `labels`, if there is one. */
export function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const keys = Object.keys(labels);
  return matching(text, name, labels).find((s) => Object.keys(s.labels).length === keys.length)?.value;
}

/** One histogram's cumulative buckets: upper bound (`le`, +Inf as Infinity) → count. */
export function histogramBuckets(text: string, name: string, labels: Record<string, string>): Map<number, number> {
  return new Map(matching(text, `${name}_bucket`, labels).map((s) => [s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), s.value]));
}
