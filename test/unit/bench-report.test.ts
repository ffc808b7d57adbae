import { BenchReport, CountResult, isSmokeRun, renderReport, RoundBlock, verdictLine } from '../bench/report';
import { perSecond } from '../bench/stats';
import { cdfPoints, escapeXml, lineChart, logTicks, niceTicks, stackedBars } from '../bench/svg';

/** The benchmark's page: a pure function of its JSON. No stack: a small synthetic run. */

const summary = (p50: number, p99: number, n = 200) => ({ n, p50, p99, max: p99 * 1.5 });
const cpu = (api: number, worker: number, temporal: number, postgres: number) => ({ api, worker, temporal, postgres, total: api + worker + temporal + postgres });

function count(conversations: number, over: Partial<CountResult> = {}): CountResult {
  return {
    conversations,
    pingback: { committed_per_s: 101.2, ingress_p99_ms: 90, kept_up_every_round: true, cpu_ms_per_message: cpu(2.5, 6, 7, 1.2) },
    probe: { committed_per_s: 99.5, signal_p99_ms: 100, kept_up_every_round: true, cpu_ms_per_message: cpu(0, 5, 6.5, 1) },
    ratios: { commit_rate: 1.02, ingress_p99: 0.9, cpu_per_message: 1.34 },
    targets: { commit_rate: true, ingress_p99: true, cpu_per_message: false },
    end_to_end: {
      committed_ms: summary(80, 300, 6000),
      visible_ms: summary(110, 420),
      reply_ms: summary(60, 2100, 180),
      visible_samples_ms: Array.from({ length: 200 }, (_, i) => 50 + i * 2),
      reply_samples_ms: Array.from({ length: 180 }, (_, i) => (i % 10 === 0 ? 1100 + i : 40 + i)),
    },
    ...over,
  };
}

function block(conversations: number, round: number): RoundBlock {
  const series = (base: number) => Array.from({ length: 22 }, (_, s) => (s < 20 ? base + ((s * 7 + round) % 5) : 3));
  return {
    conversations,
    ratios: { commit_rate: 1.02, ingress_p99: 0.9, cpu_per_message: 1.34 },
    probe: { committed_per_s: 99.5, kept_up: true, signal_ms: summary(8, 100, 2000), committed_by_second: series(98), signal_p99_ms_by_second: series(90).map((v, s) => (s === 21 ? null : v)) },
    pingback: { inbound: { committed_per_s: 101.2, kept_up: true, ack_ms: summary(10, 90, 2000), committed_by_second: series(99), ack_p99_ms_by_second: series(80) } },
  };
}

function report(over: Partial<BenchReport['settings']> = {}): BenchReport {
  return {
    date: '2026-12-06T12:34:56.000Z',
    command: 'npm run bench -- --report docs/benchmark.md',
    machine: { cpus: 2, cpu_model: 'AMD EPYC <test> & co', memory_gb: 23.5, node: 'v22.1.0', os: 'Linux 6.1' },
    settings: {
      temporal: 'dev',
      offered_rate_per_s: 100,
      seconds: 20,
      warmup_seconds: 10,
      rounds: 2,
      conversations: [100, 10_000],
      reply_rate_per_s: 10,
      workers: 1,
      worker_instances: 4,
      worker_nice: 10,
      visible_sample_every: 10,
      worker_env: { WORKER_STICKY_QUEUE_TIMEOUT_MS: '30000' },
      ...over,
    },
    verdict: { met: 4, of: 6 },
    counts: [
      count(100),
      count(10_000, {
        pingback: { committed_per_s: 80.1, ingress_p99_ms: 150, kept_up_every_round: false, cpu_ms_per_message: cpu(2.4, 9, 9, 1.3) },
        ratios: { commit_rate: 0.84, ingress_p99: 1.5, cpu_per_message: 0.95 },
        targets: { commit_rate: false, ingress_p99: false, cpu_per_message: true },
      }),
    ],
    rounds: [1, 2].map((round) => ({ round, blocks: [block(100, round), block(10_000, round)] })),
    context: {
      rate_many_vs_few_conversations: 0.79,
      rate_all_new_vs_few_conversations: 0.52,
      all_new: { conversations: 10_000, inbound: { committed_per_s: 52.3 } },
      direct_to_postgres: { webhooks_per_s: 100, ack_ms: summary(3.1, 9.3) },
      memory: { api_peak_rss_mb: 288, worker_peak_rss_mb: 1843, temporal_peak_rss_mb: 764 },
    },
  };
}

/**
 * Well-formed XML, checked the small way: every tag closed in order, attributes quoted, no stray
 * "<" or "&" in text or attribute values, one root <svg> with a viewBox.
 */
function assertWellFormedSvg(svg: string) {
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg).toMatch(/^<svg [^>]*viewBox="0 0 \d+ \d+"/);
  const stack: string[] = [];
  let roots = 0;
  const token = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = token.exec(svg))) {
    expect(m.index).toBe(consumed);
    consumed = m.index + m[0].length;
    const [, closing, name, attrs, selfClosing, text, stray] = m;
    if (stray) throw new Error(`stray "<" at ${m.index}: ${svg.slice(m.index, m.index + 40)}`);
    if (text !== undefined) {
      expect(text).not.toMatch(/&(?!(amp|lt|gt|quot|#39);)/);
      expect(text).not.toContain('>');
      continue;
    }
    for (const [, value] of (attrs ?? '').matchAll(/="([^"]*)"/g)) expect(value).not.toMatch(/&(?!(amp|lt|gt|quot|#39);)/);
    if (closing) expect(stack.pop()).toBe(name);
    else if (!selfClosing) {
      if (stack.length === 0) roots++;
      stack.push(name);
    }
  }
  expect(consumed).toBe(svg.length);
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
}

test('the page leads with the verdict and a table of the targets, pass or fail per count, from the ratios', () => {
  const { markdown } = renderReport(report(), { chartsHref: 'benchmark' });
  const lines = markdown.split('\n');
  expect(lines[0]).toBe('# Benchmark: `npm run bench`');
  expect(markdown).toContain('**Verdict:** **4 of 6 targets met**; missed: CPU per committed message at 100 (1.34×), commit rate at 10,000 (0.84×), ingress p99 at 10,000 (1.50×).');
  const head = lines.indexOf('| target | 100 conversations | 10,000 conversations |');
  expect(head).toBeGreaterThan(0);
  expect(lines[head + 1]).toBe('|---|---|---|');
  expect(lines[head + 2]).toBe('| commit rate ≥ 1.0× the probe’s | ✅ met **1.02×** (101.2 vs 99.5 /s, kept up) | ❌ missed **0.84×** (80.1 vs 99.5 /s) |');
  expect(lines[head + 3]).toBe('| ingress p99 ≤ 1.2× the probe’s signal p99 | ✅ met **0.90×** (90 vs 100 ms) | ❌ missed **1.50×** (150 vs 100 ms) |');
  expect(lines[head + 4]).toBe('| CPU per committed message ≤ 1.0× the probe’s | ❌ missed **1.34×** (16.7 vs 12.5 ms) | ✅ met **0.95×** (21.7 vs 12.5 ms) |');
  // The machine and the command, and no smoke banner for the defaults' scale.
  expect(markdown).toContain('`npm run bench -- --report docs/benchmark.md`');
  expect(markdown).toContain('2 × AMD EPYC <test> & co, 23.5 GiB, Node v22.1.0');
  expect(markdown).not.toContain('Smoke settings');
  // Side by side, per process, the probe's api a dash; end to end per count.
  expect(markdown).toContain('| CPU ms per committed message: Temporal | 7 | 6.5 | 9 | 6.5 |');
  expect(markdown).toContain('| CPU ms per committed message: api | 2.5 | – | 2.4 | – |');
  expect(markdown).toContain('| webhook accepted → visible in `GET /api/conversations/:id/messages` | 110 / 420 ms (200) | 110 / 420 ms (200) |');
  expect(markdown).toContain('| agent reply accepted (202) → platform accepted it | 60 / 2,100 ms (180) | 60 / 2,100 ms (180) |');
  // Every round's block, and the old target kept as context only.
  expect(markdown).toContain('| 2 | 10,000 | 99.5 | 101.2 | 100 | 90 | 1.02× · 0.90× · 1.34× |');
  expect(markdown).toContain("PingBack's commit rate at 10,000 conversations against 100: 0.79×");
  expect(markdown).toContain('[benchmark-history.md](benchmark-history.md)');
  // The "Results on this machine" anchor other pages link to.
  expect(lines).toContain('## Results on this machine');
});

test('every chart the page links is rendered, and each is well-formed SVG', () => {
  const { markdown, charts } = renderReport(report(), { chartsHref: 'benchmark', docsHref: '../docs/' });
  const linked = [...markdown.matchAll(/!\[[^\]]*\]\(benchmark\/([^)]+)\)/g)].map((m) => m[1]);
  expect(linked.sort()).toEqual(charts.map((c) => c.file).sort());
  expect(charts.map((c) => c.file).sort()).toEqual(
    ['committed-per-second-100.svg', 'committed-per-second-10000.svg', 'cpu-per-message.svg', 'ingress-p99-per-second-100.svg', 'ingress-p99-per-second-10000.svg', 'latency-reply.svg', 'latency-visible.svg'].sort(),
  );
  for (const c of charts) assertWellFormedSvg(c.svg);
  // PingBack and the probe in each per-second chart, one line per round each.
  const committed = charts.find((c) => c.file === 'committed-per-second-100.svg')!.svg;
  expect(committed.match(/<path /g)).toHaveLength(4);
  expect(committed).toContain('offered 100/s');
  // Stacked: four processes for each of four bars (the probe has no api segment).
  expect(charts.find((c) => c.file === 'cpu-per-message.svg')!.svg.match(/<rect [^>]*><title>/g)).toHaveLength(4 + 3 + 4 + 3);
  expect(markdown).toContain('](../docs/benchmark-history.md)');
});

test('a run at smaller settings than the defaults says so at the top, with its settings', () => {
  const smoke = report({ rounds: 1, seconds: 4, warmup_seconds: 2, conversations: [50, 300], offered_rate_per_s: 40 });
  expect(isSmokeRun(smoke.settings)).toBe(true);
  expect(isSmokeRun(report().settings)).toBe(false);
  const { markdown } = renderReport(smoke, { chartsHref: 'benchmark' });
  const banner = markdown.split('\n').find((l) => l.startsWith('> **Smoke settings'))!;
  expect(banner).toContain('--rate 40 (default 100), --seconds 4 (default 20), --warmup 2 (default 10), --rounds 1 (default 3), --conversations 50,300 (default 100,10000)');
  expect(banner).toContain('`npm run bench -- --report docs/benchmark.md`');
  expect(markdown.indexOf('Smoke settings')).toBeLessThan(markdown.indexOf('**Verdict:**'));
});

test('the verdict line when every target is met', () => {
  const r = report();
  r.counts = r.counts.map((c) => ({ ...c, targets: { commit_rate: true, ingress_p99: true, cpu_per_message: true } }));
  r.verdict = { met: 6, of: 6 };
  expect(verdictLine(r)).toBe('**6 of 6 targets met**: every target at every conversation count.');
});

test('charts: escaped text, nulls break lines, empty data, log axes, CDF points', () => {
  const svg = lineChart({ title: 'a < b & "c"', xLabel: 'x', yLabel: 'y', lines: [{ label: "d's", color: '#000', points: [[0, 1], [1, null], [2, 3], [3, 4]] }] });
  assertWellFormedSvg(svg);
  expect(svg).toContain('<title>a &lt; b &amp; &quot;c&quot;</title>');
  // Two runs: M then one L after the gap.
  expect(svg).toMatch(/<path d="M[\d.]+ [\d.]+ M[\d.]+ [\d.]+ L[\d.]+ [\d.]+"/);
  assertWellFormedSvg(lineChart({ title: 'empty', xLabel: 'x', yLabel: 'y', lines: [] }));
  assertWellFormedSvg(stackedBars({ title: 'zero', yLabel: 'ms', colors: { a: '#111' }, groups: [{ label: 'g', bars: [{ label: 'b', segments: [{ key: 'a', value: NaN }] }] }] }));
  expect(escapeXml(`<&>"'`)).toBe('&lt;&amp;&gt;&quot;&#39;');
  expect(niceTicks(0, 97)).toEqual([0, 20, 40, 60, 80, 100]);
  expect(niceTicks(0, 0.9, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  expect(logTicks(3, 2500)).toEqual([2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]);
  expect(logTicks(100, 1000)).toEqual([100, 200, 500, 1000]);
  expect(cdfPoints([30, 10, 20, 40])).toEqual([[10, 0.25], [20, 0.5], [30, 0.75], [40, 1]]);
});

test('perSecond counts commits into whole seconds from the block start', () => {
  expect(perSecond([1000, 1500, 2999, 3000, 5200, 900], 1000)).toEqual([3, 1, 1, 0, 1]);
  expect(perSecond([], 0)).toEqual([]);
});

test('the event stream and the calm block: shown when the run measured them, left out of a run from before', () => {
  const calm = { offered_rate_per_s: 20, committed_per_s: 20, kept_up: true, committed_ms: summary(70, 150), visible_ms: summary(90, 200), stream_ms: summary(75, 160), reply_ms: summary(40, 1100), stream_samples_ms: [70, 80] };
  const withBoth = report({ calm_rate_per_s: 20 });
  withBoth.counts = withBoth.counts.map((c) => ({ ...c, end_to_end: { ...c.end_to_end, stream_ms: summary(95, 400), stream_samples_ms: [90, 100] }, calm }));
  const page = renderReport(withBoth, { chartsHref: 'benchmark' }).markdown;
  expect(page).toContain('| webhook accepted → `message.created` on an open event stream (every message) | 95 / 400 ms (200) | 95 / 400 ms (200) |');
  expect(page).toContain('Busy but not overloaded, at 20 webhooks/s');
  expect(page).toContain('| committed messages /s (kept up with the offer?) | 20 (yes) | 20 (yes) |');
  expect(page).not.toContain('--calm-rate 20 (default');

  const before = renderReport(report(), { chartsHref: 'benchmark' }).markdown;
  expect(before).not.toContain('open event stream (every message)');
  expect(before).not.toContain('Busy but not overloaded');
});
