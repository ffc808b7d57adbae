import { Registry } from '../../src/metrics/registry';

/** What Prometheus reads: the text exposition format, cumulative buckets, escaped label values. */
test('counters and histograms render in the text format Prometheus scrapes', () => {
  const r = new Registry();
  const c = r.counter('demo_requests_total', 'Requests.');
  const h = r.histogram('demo_seconds', 'Durations.', [0.1, 1]);
  c.inc({ type: 'telegram', status: '200' });
  c.inc({ type: 'telegram', status: '200' });
  c.inc({ type: 'x', status: '503' }, 3);
  h.observe({ type: 'telegram' }, 0.05);
  h.observe({ type: 'telegram' }, 0.5);
  h.observe({ type: 'telegram' }, 7);

  expect(r.render()).toBe(
    [
      '# HELP demo_requests_total Requests.',
      '# TYPE demo_requests_total counter',
      'demo_requests_total{type="telegram",status="200"} 2',
      'demo_requests_total{type="x",status="503"} 3',
      '# HELP demo_seconds Durations.',
      '# TYPE demo_seconds histogram',
      'demo_seconds_bucket{type="telegram",le="0.1"} 1',
      'demo_seconds_bucket{type="telegram",le="1"} 2',
      'demo_seconds_bucket{type="telegram",le="+Inf"} 3',
      'demo_seconds_sum{type="telegram"} 7.55',
      'demo_seconds_count{type="telegram"} 3',
      '',
    ].join('\n'),
  );
});

test('label values are escaped, so no value can break a line or forge a label', () => {
  const r = new Registry();
  r.counter('demo_total', 'Demo.').inc({ path: 'a"b\\c\nd' });
  expect(r.render()).toContain('demo_total{path="a\\"b\\\\c\\nd"} 1');
});

test('a histogram whose buckets do not ascend is refused', () => {
  expect(() => new Registry().histogram('bad_seconds', 'Bad.', [1, 0.5])).toThrow('buckets must ascend');
});
