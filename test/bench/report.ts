/**
 * The benchmark's page: a pure function from the run's JSON (test/bench/run.ts) to Markdown and
 * the SVG charts beside it. `npm run bench -- --report docs/benchmark.md` writes both;
 * `npx tsx test/bench/run.ts --from test-results/bench.json --report docs/benchmark.md` re-renders a saved run.
 */
import { cdfPoints, formatNumber, lineChart, Line, stackedBars } from './svg';

/** `npm run bench`'s defaults: a run with other settings is labelled as such on its page. */
export const BENCH_DEFAULTS = {
  temporal: 'dev',
  rate: 100,
  seconds: 20,
  warmup: 10,
  conversations: [100, 10_000],
  replyRate: 10,
  rounds: 3,
  workers: 1,
  workerNice: 10,
  visibleSample: 10,
  calmRate: 20,
};

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export const PROCESSES = ['api', 'worker', 'temporal', 'postgres'] as const;
export type Process = (typeof PROCESSES)[number];
export type CpuPerMessage = Record<Process | 'total', number>;

export interface Ratios {
  commit_rate: number;
  ingress_p99: number;
  cpu_per_message: number;
}
export type Targets = Record<keyof Ratios, boolean>;

/** One conversation count: PingBack and its own ceiling, each figure the median of the rounds'. */
export interface CountResult {
  conversations: number;
  pingback: { committed_per_s: number; ingress_p99_ms: number; kept_up_every_round: boolean; cpu_ms_per_message: CpuPerMessage };
  probe: { committed_per_s: number; signal_p99_ms: number; kept_up_every_round: boolean; cpu_ms_per_message: CpuPerMessage };
  ratios: Ratios;
  targets: Targets;
  /** Pooled over the rounds: percentiles of all their samples, and the samples (for the charts). */
  end_to_end: {
    committed_ms: Summary;
    visible_ms: Summary;
    /** Runs from before the event stream was measured have none. */
    stream_ms?: Summary;
    reply_ms: Summary;
    visible_samples_ms: number[];
    stream_samples_ms?: number[];
    reply_samples_ms: number[];
  };
  /** The calm block after the rounds (--calm-rate): end-to-end figures at a rate the stack keeps up with. */
  calm?: {
    offered_rate_per_s: number;
    committed_per_s: number;
    kept_up: boolean;
    committed_ms: Summary;
    visible_ms: Summary;
    stream_ms: Summary;
    reply_ms: Summary;
    stream_samples_ms: number[];
  };
}

/** What the page reads of one measured block pair (the JSON holds more). */
export interface RoundBlock {
  conversations: number;
  ratios: Ratios;
  probe: {
    committed_per_s: number;
    kept_up: boolean;
    signal_ms: Summary;
    committed_by_second: number[];
    signal_p99_ms_by_second: Array<number | null>;
  };
  pingback: {
    inbound: {
      committed_per_s: number;
      kept_up: boolean;
      ack_ms: Summary;
      committed_by_second: number[];
      ack_p99_ms_by_second: Array<number | null>;
    };
  };
}

export interface BenchReport {
  date: string;
  command: string;
  machine: { cpus: number; cpu_model?: string; memory_gb: number; node: string; os?: string };
  settings: {
    temporal: string;
    offered_rate_per_s: number;
    seconds: number;
    warmup_seconds: number;
    rounds: number;
    conversations: number[];
    reply_rate_per_s: number;
    workers: number;
    worker_instances: number;
    worker_nice: number;
    visible_sample_every: number;
    /** Absent in runs from before the calm block. */
    calm_rate_per_s?: number;
    worker_env: Record<string, string>;
  };
  verdict: { met: number; of: number };
  counts: CountResult[];
  rounds: Array<{ round: number; blocks: RoundBlock[] }>;
  context: {
    rate_many_vs_few_conversations: number | null;
    rate_all_new_vs_few_conversations: number | null;
    all_new: { conversations: number; inbound: { committed_per_s: number } } | null;
    direct_to_postgres: { webhooks_per_s: number; ack_ms: Summary } | null;
    memory: { api_peak_rss_mb: number | null; worker_peak_rss_mb: number | null; temporal_peak_rss_mb: number | null };
  };
}

export interface Chart {
  /** File name, written into the charts directory. */
  file: string;
  alt: string;
  svg: string;
}

export interface RenderedReport {
  markdown: string;
  charts: Chart[];
}

export const TARGETS: Record<keyof Ratios, { label: string; limit: number; atMost: boolean }> = {
  commit_rate: { label: 'commit rate ≥ 1.0× the probe’s', limit: 1.0, atMost: false },
  ingress_p99: { label: 'ingress p99 ≤ 1.2× the probe’s signal p99', limit: 1.2, atMost: true },
  cpu_per_message: { label: 'CPU per committed message ≤ 1.0× the probe’s', limit: 1.0, atMost: true },
};

const COLORS = { pingback: '#2563eb', probe: '#ea580c' };
const PROCESS_COLORS: Record<Process, string> = { api: '#0ea5e9', worker: '#16a34a', temporal: '#9333ea', postgres: '#f59e0b' };
const PROCESS_LABELS: Record<Process, string> = { api: 'api', worker: 'worker', temporal: 'Temporal', postgres: 'PostgreSQL' };
const COUNT_COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#0891b2'];

const count = (c: number) => c.toLocaleString('en-US');
const num = (v: number | null | undefined, digits = 1) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toLocaleString('en-US', { maximumFractionDigits: digits }));
const ratio = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : `${v.toFixed(2)}×`);
const ms = (s: Summary | undefined) => (!s || !s.n ? 'n/a' : `${num(s.p50)} / ${num(s.p99)} ms (${s.n})`);
const met = (ok: boolean) => (ok ? '✅ met' : '❌ missed');

/** Settings that differ from `npm run bench`'s defaults, as "rate 40 (default 100)". */
export function nonDefaultSettings(s: BenchReport['settings']): string[] {
  const d = BENCH_DEFAULTS;
  const out: string[] = [];
  const check = (name: string, value: unknown, def: unknown) => String(value) !== String(def) && out.push(`${name} ${String(value)} (default ${String(def)})`);
  check('--temporal', s.temporal, d.temporal);
  check('--rate', s.offered_rate_per_s, d.rate);
  check('--seconds', s.seconds, d.seconds);
  check('--warmup', s.warmup_seconds, d.warmup);
  check('--rounds', s.rounds, d.rounds);
  check('--conversations', s.conversations.join(','), d.conversations.join(','));
  check('--reply-rate', s.reply_rate_per_s, d.replyRate);
  check('--workers', s.workers, d.workers);
  check('--worker-nice', s.worker_nice, d.workerNice);
  check('--visible-sample', s.visible_sample_every, d.visibleSample);
  if (s.calm_rate_per_s !== undefined) check('--calm-rate', s.calm_rate_per_s, d.calmRate);
  return out;
}

/** A run too small to say anything about capacity: shorter, slower, colder or over fewer conversations than the defaults (fewer rounds is not: each still measures at scale). */
export function isSmokeRun(s: BenchReport['settings']): boolean {
  const d = BENCH_DEFAULTS;
  return s.offered_rate_per_s < d.rate || s.seconds < d.seconds || s.warmup_seconds < d.warmup || Math.max(...s.conversations) < Math.max(...d.conversations);
}

/** The one-line verdict: targets met of all, and which missed. */
export function verdictLine(r: BenchReport): string {
  const missed = r.counts.flatMap((c) =>
    (Object.keys(TARGETS) as Array<keyof Ratios>).filter((k) => !c.targets[k]).map((k) => `${TARGETS[k].label.split(' ≤')[0].split(' ≥')[0]} at ${count(c.conversations)} (${ratio(c.ratios[k])})`),
  );
  const head = `**${r.verdict.met} of ${r.verdict.of} targets met**`;
  return missed.length === 0 ? `${head}: every target at every conversation count.` : `${head}; missed: ${missed.join(', ')}.`;
}

export function targetsTable(r: BenchReport): string {
  const rows = [
    `| target | ${r.counts.map((c) => `${count(c.conversations)} conversations`).join(' | ')} |`,
    `|---|${r.counts.map(() => '---').join('|')}|`,
  ];
  for (const k of Object.keys(TARGETS) as Array<keyof Ratios>) {
    const cells = r.counts.map((c) => {
      const detail =
        k === 'commit_rate'
          ? `${num(c.pingback.committed_per_s)} vs ${num(c.probe.committed_per_s)} /s${c.pingback.kept_up_every_round ? ', kept up' : ''}`
          : k === 'ingress_p99'
            ? `${num(c.pingback.ingress_p99_ms)} vs ${num(c.probe.signal_p99_ms)} ms`
            : `${num(c.pingback.cpu_ms_per_message.total, 2)} vs ${num(c.probe.cpu_ms_per_message.total, 2)} ms`;
      return `${met(c.targets[k])} **${ratio(c.ratios[k])}** (${detail})`;
    });
    rows.push(`| ${TARGETS[k].label} | ${cells.join(' | ')} |`);
  }
  return rows.join('\n');
}

export function sideBySideTable(r: BenchReport): string {
  const cols = r.counts.flatMap((c) => [`${count(c.conversations)}: PingBack`, `${count(c.conversations)}: probe`]);
  const rows = [`| | ${cols.join(' | ')} |`, `|---|${cols.map(() => '---').join('|')}|`];
  const add = (name: string, pb: (c: CountResult) => string, probe: (c: CountResult) => string) =>
    rows.push(`| ${name} | ${r.counts.flatMap((c) => [pb(c), probe(c)]).join(' | ')} |`);
  add('committed messages /s (steady)', (c) => num(c.pingback.committed_per_s), (c) => num(c.probe.committed_per_s));
  add('kept up with the offer in every round', (c) => (c.pingback.kept_up_every_round ? 'yes' : 'no'), (c) => (c.probe.kept_up_every_round ? 'yes' : 'no'));
  add('ingress: webhook ack p99 · probe: signal p99 (ms)', (c) => num(c.pingback.ingress_p99_ms), (c) => num(c.probe.signal_p99_ms));
  for (const p of PROCESSES) {
    const label = p === 'worker' ? 'CPU ms per committed message: worker (probe: its client and worker)' : `CPU ms per committed message: ${PROCESS_LABELS[p]}`;
    add(label, (c) => num(c.pingback.cpu_ms_per_message[p], 2), (c) => (p === 'api' ? '–' : num(c.probe.cpu_ms_per_message[p], 2)));
  }
  add('CPU ms per committed message: **total**', (c) => `**${num(c.pingback.cpu_ms_per_message.total, 2)}**`, (c) => `**${num(c.probe.cpu_ms_per_message.total, 2)}**`);
  return rows.join('\n');
}

export function endToEndTable(r: BenchReport): string {
  const rows = [`| p50 / p99 (samples) | ${r.counts.map((c) => `${count(c.conversations)} conversations`).join(' | ')} |`, `|---|${r.counts.map(() => '---').join('|')}|`];
  const add = (name: string, f: (c: CountResult) => string) => rows.push(`| ${name} | ${r.counts.map(f).join(' | ')} |`);
  add('webhook accepted → visible in `GET /api/conversations/:id/messages`', (c) => ms(c.end_to_end.visible_ms));
  if (r.counts.some((c) => c.end_to_end.stream_ms)) add('webhook accepted → `message.created` on an open event stream (every message)', (c) => (c.end_to_end.stream_ms ? ms(c.end_to_end.stream_ms) : '–'));
  add('agent reply accepted (202) → platform accepted it', (c) => ms(c.end_to_end.reply_ms));
  add('webhook sent → message row committed (every message)', (c) => ms(c.end_to_end.committed_ms));
  return rows.join('\n');
}

/** The calm block's end-to-end figures, when the run had one. */
export function calmTable(r: BenchReport): string | undefined {
  const counts = r.counts.filter((c) => c.calm);
  if (counts.length === 0) return undefined;
  const rows = [`| p50 / p99 (samples) | ${counts.map((c) => `${count(c.conversations)} conversations`).join(' | ')} |`, `|---|${counts.map(() => '---').join('|')}|`];
  const add = (name: string, f: (c: NonNullable<CountResult['calm']>) => string) => rows.push(`| ${name} | ${counts.map((c) => f(c.calm!)).join(' | ')} |`);
  add('committed messages /s (kept up with the offer?)', (c) => `${num(c.committed_per_s)} (${c.kept_up ? 'yes' : 'no'})`);
  add('webhook accepted → visible in `GET /api/conversations/:id/messages`', (c) => ms(c.visible_ms));
  add('webhook accepted → `message.created` on an open event stream', (c) => ms(c.stream_ms));
  add('agent reply accepted (202) → platform accepted it', (c) => ms(c.reply_ms));
  add('webhook sent → message row committed', (c) => ms(c.committed_ms));
  return rows.join('\n');
}

export function roundsTable(r: BenchReport): string {
  const rows = [
    '| round | conversations | probe committed /s | PingBack committed /s | probe signal p99 (ms) | PingBack ack p99 (ms) | ratios: commit · ingress p99 · CPU |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const round of r.rounds) {
    for (const b of round.blocks) {
      rows.push(
        `| ${round.round} | ${count(b.conversations)} | ${num(b.probe.committed_per_s)} | ${num(b.pingback.inbound.committed_per_s)} | ${num(b.probe.signal_ms.p99)} | ${num(b.pingback.inbound.ack_ms.p99)} | ${[b.ratios.commit_rate, b.ratios.ingress_p99, b.ratios.cpu_per_message].map(ratio).join(' · ')} |`,
      );
    }
  }
  return rows.join('\n');
}

/** Each round its own line, PingBack solid and the probe dashed, later rounds fainter. */
function perSecondChart(r: BenchReport, conversations: number, what: 'committed' | 'p99'): string {
  const lines: Line[] = [];
  const rounds = r.rounds.length;
  r.rounds.forEach((round, i) => {
    const b = round.blocks.find((x) => x.conversations === conversations);
    if (!b) return;
    const opacity = rounds > 1 ? 1 - (0.55 * i) / (rounds - 1) : 1;
    const pb = what === 'committed' ? b.pingback.inbound.committed_by_second : b.pingback.inbound.ack_p99_ms_by_second;
    const probe = what === 'committed' ? b.probe.committed_by_second : b.probe.signal_p99_ms_by_second;
    lines.push({ label: `PingBack, round ${round.round}`, color: COLORS.pingback, opacity, points: pb.map((v, s) => [s + 0.5, v ?? null]) });
    lines.push({ label: `probe, round ${round.round}`, color: COLORS.probe, opacity, dashed: true, points: probe.map((v, s) => [s + 0.5, v ?? null]) });
  });
  const legend = [
    { label: what === 'committed' ? 'PingBack' : 'PingBack: webhook ack', color: COLORS.pingback },
    { label: what === 'committed' ? 'probe' : 'probe: signal-with-start', color: COLORS.probe, dashed: true },
  ];
  const of = `${count(conversations)} conversations${rounds > 1 ? ` (${rounds} rounds, later ones fainter)` : ''}`;
  return what === 'committed'
    ? lineChart({
        title: `Committed messages per second, ${of}`,
        xLabel: `seconds since the block started (the offer lasts ${num(r.settings.seconds)} s; then the backlog drains)`,
        yLabel: 'committed /s',
        lines,
        legend,
        marks: [{ y: r.settings.offered_rate_per_s, label: `offered ${num(r.settings.offered_rate_per_s)}/s` }],
      })
    : lineChart({
        title: `Ingress p99 per second, ${of}`,
        xLabel: 'seconds since the block started',
        yLabel: 'p99 ms',
        lines,
        legend,
      });
}

function cpuChart(r: BenchReport): string {
  return stackedBars({
    title: 'CPU per committed message, by process (median of the rounds)',
    yLabel: 'CPU ms per committed message',
    colors: Object.fromEntries(PROCESSES.map((p) => [PROCESS_LABELS[p], PROCESS_COLORS[p]])),
    groups: r.counts.map((c) => ({
      label: `${count(c.conversations)} conversations`,
      bars: [
        { label: 'PingBack', segments: PROCESSES.map((p) => ({ key: PROCESS_LABELS[p], value: c.pingback.cpu_ms_per_message[p] })) },
        { label: 'probe', segments: PROCESSES.map((p) => ({ key: PROCESS_LABELS[p], value: c.probe.cpu_ms_per_message[p] })) },
      ],
    })),
  });
}

function cdfChart(r: BenchReport, what: 'visible' | 'reply'): string {
  const lines = r.counts.map((c, i) => ({
    label: `${count(c.conversations)} conversations (${(what === 'visible' ? c.end_to_end.visible_samples_ms : c.end_to_end.reply_samples_ms).length} samples)`,
    color: COUNT_COLORS[i % COUNT_COLORS.length],
    points: cdfPoints(what === 'visible' ? c.end_to_end.visible_samples_ms : c.end_to_end.reply_samples_ms),
  }));
  return lineChart({
    title: what === 'visible' ? 'Webhook accepted → visible in the API (all rounds)' : 'Agent reply accepted → platform accepted (all rounds)',
    xLabel: 'milliseconds (log scale)',
    yLabel: 'share of messages at or below',
    logX: true,
    yMax: 1,
    yFormat: (v) => `${Math.round(v * 100)} %`,
    marks: [{ y: 0.5, label: 'p50' }, { y: 0.99, label: 'p99' }],
    lines,
  });
}

export function charts(r: BenchReport): Chart[] {
  const out: Chart[] = [];
  for (const c of r.counts) {
    out.push({ file: `committed-per-second-${c.conversations}.svg`, alt: `committed messages per second at ${count(c.conversations)} conversations, PingBack and the probe`, svg: perSecondChart(r, c.conversations, 'committed') });
    out.push({ file: `ingress-p99-per-second-${c.conversations}.svg`, alt: `ingress p99 per second at ${count(c.conversations)} conversations, PingBack and the probe`, svg: perSecondChart(r, c.conversations, 'p99') });
  }
  out.push({ file: 'cpu-per-message.svg', alt: 'CPU per committed message by process, PingBack and the probe', svg: cpuChart(r) });
  out.push({ file: 'latency-visible.svg', alt: 'distribution of webhook accepted to visible in the API', svg: cdfChart(r, 'visible') });
  out.push({ file: 'latency-reply.svg', alt: 'distribution of reply accepted to platform accepted', svg: cdfChart(r, 'reply') });
  return out;
}

/** File names the report writes (so a re-render can remove the previous run's). */
export const CHART_FILE = /^(committed-per-second-\d+|ingress-p99-per-second-\d+|cpu-per-message|latency-visible|latency-reply)\.svg$/;

/**
 * The page. `chartsHref` is the charts directory as the page links it (relative to the page),
 * `historyHref` the page of earlier runs.
 */
export function renderReport(r: BenchReport, opts: { chartsHref: string; docsHref?: string }): RenderedReport {
  const cs = charts(r);
  const img = (file: string) => {
    const c = cs.find((x) => x.file === file)!;
    return `![${c.alt}](${opts.chartsHref}/${c.file})`;
  };
  const docs = opts.docsHref ?? '';
  const history = `${docs}benchmark-history.md`;
  const s = r.settings;
  const differs = nonDefaultSettings(s);
  const smoke = isSmokeRun(s);
  const counts = s.conversations.map(count).join(' and ');
  const out: string[] = [];
  out.push('# Benchmark: `npm run bench`', '');
  out.push('<!-- Generated by `npm run bench -- --report <this file>` (test/bench/report.ts) from the run\'s JSON: edits here are overwritten. -->', '');
  if (smoke) {
    out.push(
      `> **Smoke settings: these figures are not a benchmark result.** This page was generated from a short run that checks the harness (${differs.join(', ')}), too short and too light to say anything about capacity. Run \`npm run bench -- --report docs/benchmark.md\` for the real figures. The last full run's verdict is in [the history](${history}).`,
      '',
    );
  } else if (differs.length > 0) {
    out.push(`> Settings other than the defaults: ${differs.join(', ')}.`, '');
  }
  out.push(
    `How close is PingBack to what Temporal itself allows on this machine, at ${counts} conversations? At each count, a ceiling probe (a minimal Temporal workflow and activity over as many conversations) is measured in the same rounds, and PingBack's figures are read as ratios of its own.`,
    '',
  );
  out.push(`**Verdict:** ${verdictLine(r)}`, '');
  out.push(
    `${r.date.slice(0, 16).replace('T', ' ')} UTC · \`${r.command}\` · ${r.machine.cpus} × ${r.machine.cpu_model ?? 'CPU'}, ${num(r.machine.memory_gb)} GiB, Node ${r.machine.node}${r.machine.os ? `, ${r.machine.os}` : ''} · Temporal ${s.temporal === 'dev' ? 'dev server (SQLite file)' : s.temporal === 'memory' ? 'dev server (in memory)' : 'server (PostgreSQL)'} · ${num(s.offered_rate_per_s)} webhooks/s offered for ${num(s.seconds)} s per block, ${s.rounds} round${s.rounds === 1 ? '' : 's'}, replies ${num(s.reply_rate_per_s)}/s`,
    '',
  );
  out.push(`## Targets`, '', `Each ratio is the median of the rounds' ratios (PingBack against the probe at the same count, measured a minute apart).`, '', targetsTable(r), '');
  out.push('## Results on this machine', '', '### PingBack beside its ceiling', '', `Each figure the median of its rounds'.`, '', sideBySideTable(r), '', img('cpu-per-message.svg'), '');
  out.push(
    '### End to end, as a person sees it',
    '',
    `All rounds pooled.${s.visible_sample_every > 0 ? ` Visibility is sampled: one acknowledged webhook in ${s.visible_sample_every} (see [how](#how-it-is-measured)).` : ''}`,
    '',
    endToEndTable(r),
    '',
    ...calmSection(r),
    img('latency-visible.svg'),
    '',
    img('latency-reply.svg'),
    '',
  );
  out.push('### Per second', '');
  for (const c of r.counts) out.push(img(`committed-per-second-${c.conversations}.svg`), '', img(`ingress-p99-per-second-${c.conversations}.svg`), '');
  out.push('### Rounds', '', roundsTable(r), '');
  const ctx = r.context;
  const [few, many] = [s.conversations[0], s.conversations[s.conversations.length - 1]];
  out.push('### Context (no targets)', '');
  if (s.conversations.length > 1) {
    out.push(`- PingBack's commit rate at ${count(many)} conversations against ${count(few)}: ${ratio(ctx.rate_many_vs_few_conversations)} (the old target, ≥ 0.8×, compared PingBack with itself; each count now has its own ceiling).`);
  }
  if (ctx.all_new) {
    out.push(`- Every message a new customer's first (one workflow start each), across ${count(ctx.all_new.conversations)} new conversations, once: ${num(ctx.all_new.inbound.committed_per_s)} committed/s, ${ratio(ctx.rate_all_new_vs_few_conversations)} the ${count(few)}-conversation rate.`);
  }
  if (ctx.direct_to_postgres) {
    out.push(`- The same ingress persisting straight to PostgreSQL, no Temporal: ${num(ctx.direct_to_postgres.webhooks_per_s)} webhooks/s acknowledged, ack p50 / p99 ${num(ctx.direct_to_postgres.ack_ms.p50)} / ${num(ctx.direct_to_postgres.ack_ms.p99)} ms.`);
  }
  out.push(`- Peak RSS: api ${num(ctx.memory.api_peak_rss_mb, 0)} MB, worker ${num(ctx.memory.worker_peak_rss_mb, 0)} MB, Temporal ${num(ctx.memory.temporal_peak_rss_mb, 0)} MB.`);
  const env = Object.entries(s.worker_env).map(([k, v]) => `${k}=${v}`);
  out.push(`- Worker: ${s.workers} process${s.workers === 1 ? '' : 'es'} of ${s.worker_instances} SDK workers${s.worker_nice > 0 ? `, under \`nice -n ${s.worker_nice}\`` : ''}${env.length ? `; ${env.map((e) => `\`${e}\``).join(', ')}` : ''}.`, '');
  out.push(...method(docs, s.visible_sample_every), '');
  out.push(`Earlier runs, their analysis (where an acknowledgement's time goes, workflow task slots, where a 10,000-conversation block's CPU goes) and how the benchmark changed are in [benchmark-history.md](${history}); the inbox's own benchmark (the agents' API over 100,000 conversations, the event stream) is [benchmark-inbox.md](${docs}benchmark-inbox.md).`, '');
  return { markdown: out.join('\n'), charts: cs };
}

function calmSection(r: BenchReport): string[] {
  const table = calmTable(r);
  if (!table) return [];
  const rate = r.counts.find((c) => c.calm)!.calm!.offered_rate_per_s;
  return [
    `The rounds offer more than this host keeps up with, so the figures above include the backlog that builds. Busy but not overloaded, at ${num(rate)} webhooks/s (one block per count after the rounds, replies at ${num(r.settings.reply_rate_per_s)}/s):`,
    '',
    table,
    '',
  ];
}

const method = (docs: string, sample: number) => [
  '## How it is measured',
  '',
  "`npm run bench` builds PingBack and starts its own Temporal, a fresh `pingback_bench` database, the Telegram sandbox as the platform and PingBack's `api` and `worker` as processes of their own. Then, unmeasured: a warm-up of the probe and of PingBack (JIT, pools and caches warm), and one message to every conversation of every count, the probe's and PingBack's, so every conversation exists before the clock starts, as in a running inbox. Then, in rounds, for each count: the probe, then PingBack (probe@100, PingBack@100, probe@10,000, PingBack@10,000, and again), each block starting on an idle stack (the api, workers, Temporal, all of the machine's PostgreSQL and the benchmark together under 0.15 of a core for two seconds).",
  '',
  "- **The probe** (`test/bench/probe-workflow.ts`): an in-process client signal-with-starting a minimal per-conversation workflow that inserts each message with one activity, 64 concurrent senders, over as many conversations as PingBack's block and spread over them the same way, run by a worker configured as PingBack's (the same number of SDK workers, their shares of cache and task slots, the workflow sandbox and sticky timeout). It is the least a per-conversation Temporal design does with a message on this server.",
  "- **PingBack**: Telegram webhooks offered open-loop at the fixed rate (a slow system builds a backlog rather than slowing the offer), spread evenly over the count's conversations, while agents reply through the API at `--reply-rate` and the platform answers 10 % of sends with 429 (`retry_after` 1 s) and 10 % with 502.",
  "- **Committed messages /s**: the steady rate, the slope between the 10th and 90th percentile commit of the block (the last message's latency is not read as lost throughput). A side counts as having kept up when it committed everything offered at 99 % of the offered rate or more; the commit-rate target counts as met when PingBack kept up in every round, as nothing could have committed more.",
  "- **Ingress p99**: the p99 of the webhook's acknowledgement as the platform sees it, against the p99 of the probe's signal-with-start as its client sees it.",
  "- **CPU per committed message**: CPU seconds (from /proc) each process used from the block's start until its last message committed, divided by the messages committed. PingBack: its api, its worker processes, the Temporal server and all of the machine's PostgreSQL. The probe: its client and worker live in the benchmark's process and count as its worker (the benchmark's load generation for it included); Temporal and PostgreSQL as for PingBack. PingBack's blocks also carry the agents' replies and the visibility reads below, which the probe's do not (both carry the benchmark's polling for their rows): PingBack's side of the ratio is the heavier one. The Telegram fake and PingBack's load generator are not counted.",
  `- **Webhook accepted → visible in the API**: for one acknowledged webhook in ${sample || 'N'} (\`--visible-sample\`, 10 by default; 0 turns it off), the benchmark looks for its row in PostgreSQL every 50 ms and, once there, reads the conversation through \`GET /api/conversations/:id/messages?order=desc\` with the account's API key; the figure is from the webhook's acknowledgement to that read's answer showing the message (read again if it did not). So it is late by up to one 50 ms look (25 ms on average) and includes a real API read; those reads (one per sampled message) are part of PingBack's load.`,
  "- **Webhook accepted → `message.created` on an open event stream**: one `GET /api/events` stream held open with the account's API key during each block (as one agent's dashboard), every customer message's `message.created` timed from its webhook's acknowledgement; an event that arrived before the acknowledgement counts as 0 ms. The stream is part of PingBack's load.",
  "- **Calm block**: after the rounds, one more PingBack block per count at `--calm-rate` webhooks/s (20 by default; 0 turns it off), not compared with the probe: the end-to-end figures of an inbox working below its ceiling.",
  "- **Agent reply accepted → platform accepted**: from the API's 202 for `POST /api/conversations/:id/messages` to the Telegram fake accepting the `sendMessage` (its own clock, the same process's), retries after the injected 429s and 502s included; replies that failed for good are left out.",
  "- **Webhook sent → row committed**: every message, from the webhook sent to its row's `created_at`.",
  '',
  'The JSON (`--out`, `test-results/bench.json` by default) holds every round whole, with what this page leaves out: the api\'s own answer and signal p99s, the dev server\'s signal-with-start p99, its workflow tasks, sticky timeouts, cache misses and persistence requests per message, the settling before each block and the host\'s steal time.',
  '',
  '## Running it',
  '',
  '```sh',
  'npm run bench -- --report docs/benchmark.md   # the defaults, and this page with its charts (docs/benchmark/*.svg)',
  'npm run bench                      # defaults: --temporal dev --rate 100 --seconds 20 --rounds 3 --conversations 100,10000 --reply-rate 10 --warmup 10 --worker-nice 10 --visible-sample 10 --calm-rate 20',
  'npm run bench -- --rounds 1        # each block measured once',
  'npm run bench -- --temporal server # the full Temporal server on PostgreSQL (scripts/temporal-server.sh)',
  'npm run bench -- --workers 2       # two worker processes (--worker-instances N: SDK workers per process)',
  'npm run bench -- --worker-nice 0   # the worker at the same CPU priority as the rest',
  'npx tsx test/bench/run.ts --from test-results/bench.json --report docs/benchmark.md   # re-render a saved run, nothing started or built',
  'BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=prof" npm run bench   # and profile PingBack\'s api and worker',
  '```',
  '',
  "A full run takes longer than the 9 minutes it took before 2026-12-06: the probe's conversations are seeded too (10,100 of them, at the offered rate) and the probe runs once per count per round.",
  '',
  `While it runs it prints a progress line per phase to stderr every few seconds (the phase, its elapsed time, messages offered, acknowledged and committed so far). \`WORKER_*\` variables in the environment reach PingBack's worker and the probe's settings alike, and are recorded. Everything shares one host here, so by default the worker runs as ["Sharing a host"](${docs}tuning.md#sharing-a-host) advises: \`nice -n 10\`, with a 30 s sticky timeout.`,
];
