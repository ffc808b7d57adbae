import { histogramQuantile, medianOf, steadyRate } from '../bench/stats';
import { histogramBuckets, sample, samples } from '../helpers/prometheus';

/** The benchmark's arithmetic: its verdicts are only as good as these. */

test('steadyRate reads the offered rate whatever the latency, and the drain rate of a backlog', () => {
  // 2,000 messages offered at 100/s, each committed 300 ms after it was sent: 100/s, not 2000/20.3 s.
  const keptUp = Array.from({ length: 2000 }, (_, i) => 1_000_000 + i * 10 + 300);
  expect(steadyRate(keptUp)).toBeCloseTo(100, 5);
  // A stack that fell behind commits at its own pace (60/s) until the backlog is gone.
  const behind = Array.from({ length: 2000 }, (_, i) => 1_000_000 + (i * 1000) / 60);
  expect(steadyRate(behind)).toBeCloseTo(60, 5);
  // Commits in batches (several rows, one timestamp) read the same.
  const batched = Array.from({ length: 2000 }, (_, i) => 1_000_000 + Math.floor(i / 5) * 50);
  expect(steadyRate(batched)).toBeCloseTo(100, 0);
  expect(steadyRate([5])).toBeNaN();
});

test('histogramQuantile interpolates within the bucket of the quantile, over what was observed between two readings', () => {
  const before = new Map([[0.01, 10], [0.1, 10], [1, 10], [Infinity, 10]]);
  // Since: 90 answers under 10 ms, 8 between 10 and 100 ms, 2 between 100 ms and 1 s.
  const after = new Map([[0.01, 100], [0.1, 108], [1, 110], [Infinity, 110]]);
  expect(histogramQuantile(0.5, before, after)).toBeCloseTo(0.01 * (50 / 90), 9);
  expect(histogramQuantile(0.99, before, after)).toBeCloseTo(0.1 + 0.9 * (1 / 2), 9);
  // Past the largest finite bound all that is known is "more than 1 s".
  const slow = new Map([[0.01, 10], [0.1, 10], [1, 10], [Infinity, 20]]);
  expect(histogramQuantile(0.99, before, slow)).toBe(1);
  expect(histogramQuantile(0.99, before, before)).toBeNull();
});

test('medianOf folds rounds: medians of numbers, flags true only if true in every round, lists from the first', () => {
  const rounds = [
    { rate: 99, p99: { api: 10 }, kept_up: true, by_second: [1, 2], note: 'a' },
    { rate: 56.9, p99: { api: null }, kept_up: false, by_second: [3], note: 'b' },
    { rate: 98.4, p99: { api: 30 }, kept_up: true, by_second: [4], note: 'c' },
  ];
  expect(medianOf(rounds)).toEqual({ rate: 98.4, p99: { api: 20 }, kept_up: false, by_second: [1, 2], note: 'a' });
  // A round with nothing to measure (null, NaN) does not count; none measured gives null.
  expect(medianOf([null, 5, NaN, 7])).toBe(6);
  expect(medianOf([null, NaN])).toBeNull();
});

test('Prometheus pages are read label by label, escapes included', () => {
  const text = [
    '# HELP x_seconds Demo.',
    '# TYPE x_seconds histogram',
    'x_seconds_bucket{kind="inbound",le="0.1"} 3',
    'x_seconds_bucket{kind="inbound",le="+Inf"} 4',
    'x_seconds_bucket{kind="reply",le="+Inf"} 9',
    'up 1',
    'odd_total{path="a\\"b\\\\c\\nd"} 2',
  ].join('\n');
  expect(samples(text)).toHaveLength(5);
  expect(histogramBuckets(text, 'x_seconds', { kind: 'inbound' })).toEqual(new Map([[0.1, 3], [Infinity, 4]]));
  expect(sample(text, 'up', {})).toBe(1);
  expect(sample(text, 'odd_total', { path: 'a"b\\c\nd' })).toBe(2);
  // Exactly these labels: a sample with more of them is not the one asked for.
  expect(sample(text, 'x_seconds_bucket', { kind: 'inbound' })).toBeUndefined();
});
