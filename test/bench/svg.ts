/**
 * The benchmark's charts, written as SVG by hand (no dependency): a line chart (per-second series,
 * and latency CDFs on a log axis) and stacked bars. Pure functions of their input; every text
 * escaped, every element closed, so the output is well-formed XML GitHub renders as an image.
 */

export interface Line {
  label: string;
  color: string;
  /** x, y; a null y breaks the line (a second with nothing to measure). */
  points: Array<[number, number | null]>;
  dashed?: boolean;
  /** 0–1; rounds of one system share a colour, later rounds fainter. */
  opacity?: number;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  lines: Line[];
  /** Shown once per label, in this order (default: each line's own). */
  legend?: Array<{ label: string; color: string; dashed?: boolean }>;
  /** A base-10 x axis, for latencies spanning milliseconds to seconds. */
  logX?: boolean;
  /** Fixed y range top (e.g. 1 for a CDF); default: the data's, rounded up. */
  yMax?: number;
  /** Horizontal reference lines, such as the offered rate. */
  marks?: Array<{ y: number; label: string }>;
  yFormat?: (v: number) => string;
  width?: number;
  height?: number;
}

export interface BarGroup {
  label: string;
  bars: Array<{ label: string; segments: Array<{ key: string; value: number }> }>;
}

export interface StackedBars {
  title: string;
  yLabel: string;
  groups: BarGroup[];
  colors: Record<string, string>;
  width?: number;
  height?: number;
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
const MARGIN = { left: 64, right: 16, top: 36, bottom: 72 };

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const n = (v: number) => String(Math.round(v * 10) / 10);

/** "Nice" tick values from 0 (or min) to at least max: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!(max > min)) max = min + 1;
  const raw = (max - min) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Ticks of a log axis: 1, 2, 5 times powers of ten, from the last at or below min to the first at or above max. */
export function logTicks(min: number, max: number): number[] {
  min = Math.max(min, 1e-9);
  max = Math.max(max, min * 2);
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) for (const m of [1, 2, 5]) ticks.push(Number((m * 10 ** e).toPrecision(12)));
  const first = ticks.filter((t) => t <= min).pop() ?? ticks[0];
  const last = ticks.find((t) => t >= max) ?? ticks[ticks.length - 1];
  return ticks.filter((t) => t >= first && t <= last);
}

export const formatNumber = (v: number) => (Math.abs(v) >= 1000 ? v.toLocaleString('en-US', { maximumFractionDigits: 0 }) : String(Number(v.toPrecision(3))));

function frame(width: number, height: number, title: string, body: string[]): string {
  // A long title shrinks to fit (about 0.66 em a character at this weight) rather than run off the chart.
  const room = width - MARGIN.left - 8;
  const titleSize = Math.max(10, Math.min(14, Math.floor(room / (title.length * 0.66))));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" ${FONT} font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="${titleSize}" font-weight="600" fill="#111827">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function legendItems(items: Array<{ label: string; color: string; dashed?: boolean; box?: boolean }>, x0: number, y: number): string[] {
  const out: string[] = [];
  let x = x0;
  for (const item of items) {
    out.push(
      item.box
        ? `<rect x="${n(x)}" y="${n(y - 9)}" width="14" height="10" fill="${escapeXml(item.color)}"/>`
        : `<line x1="${n(x)}" y1="${n(y - 4)}" x2="${n(x + 18)}" y2="${n(y - 4)}" stroke="${escapeXml(item.color)}" stroke-width="2.5"${item.dashed ? ' stroke-dasharray="6 3"' : ''}/>`,
    );
    out.push(`<text x="${n(x + 24)}" y="${n(y)}" fill="#374151">${escapeXml(item.label)}</text>`);
    x += 24 + item.label.length * 6.6 + 18;
  }
  return out;
}

export function lineChart(c: LineChart): string {
  const width = c.width ?? 640;
  const height = c.height ?? 320;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const xs = c.lines.flatMap((l) => l.points.map((p) => p[0])).filter((v) => Number.isFinite(v) && (!c.logX || v > 0));
  const ys = c.lines.flatMap((l) => l.points.map((p) => p[1])).filter((v): v is number => v !== null && Number.isFinite(v));
  const body: string[] = [];
  if (xs.length === 0 || ys.length === 0) {
    body.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle" fill="#6b7280">no data</text>`);
    return frame(width, height, c.title, body);
  }
  const xTicks = c.logX ? logTicks(Math.min(...xs), Math.max(...xs)) : niceTicks(Math.min(0, ...xs), Math.max(...xs), 8);
  const [x0, x1] = [xTicks[0], xTicks[xTicks.length - 1]];
  const yTicks = niceTicks(0, c.yMax ?? Math.max(...ys, ...(c.marks ?? []).map((m) => m.y)), 5);
  const yTop = c.yMax ?? yTicks[yTicks.length - 1];
  const sx = (v: number) => MARGIN.left + (c.logX ? (Math.log10(v) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) : (v - x0) / (x1 - x0 || 1)) * plotW;
  const sy = (v: number) => MARGIN.top + plotH - (Math.min(v, yTop) / (yTop || 1)) * plotH;
  const fmtY = c.yFormat ?? formatNumber;
  for (const t of yTicks.filter((t) => t <= yTop)) {
    body.push(`<line x1="${MARGIN.left}" y1="${n(sy(t))}" x2="${MARGIN.left + plotW}" y2="${n(sy(t))}" stroke="#e5e7eb"/>`);
    body.push(`<text x="${MARGIN.left - 6}" y="${n(sy(t) + 4)}" text-anchor="end" fill="#4b5563">${escapeXml(fmtY(t))}</text>`);
  }
  for (const t of xTicks) {
    const major = !c.logX || Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-9;
    body.push(`<line x1="${n(sx(t))}" y1="${MARGIN.top}" x2="${n(sx(t))}" y2="${MARGIN.top + plotH}" stroke="${major ? '#e5e7eb' : '#f3f4f6'}"/>`);
    body.push(`<text x="${n(sx(t))}" y="${MARGIN.top + plotH + 16}" text-anchor="middle" fill="#4b5563">${escapeXml(formatNumber(t))}</text>`);
  }
  body.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#9ca3af"/>`);
  for (const m of c.marks ?? []) {
    body.push(`<line x1="${MARGIN.left}" y1="${n(sy(m.y))}" x2="${MARGIN.left + plotW}" y2="${n(sy(m.y))}" stroke="#6b7280" stroke-dasharray="2 3"/>`);
    body.push(`<text x="${MARGIN.left + plotW - 4}" y="${n(sy(m.y) - 4)}" text-anchor="end" fill="#6b7280">${escapeXml(m.label)}</text>`);
  }
  for (const l of c.lines) {
    // A path of runs between nulls (and points outside a log axis).
    let d = '';
    let pen = false;
    for (const [x, y] of l.points) {
      if (y === null || !Number.isFinite(y) || !Number.isFinite(x) || (c.logX && x <= 0)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${n(sx(x))} ${n(sy(y))} `;
      pen = true;
    }
    if (!d) continue;
    body.push(
      `<path d="${d.trim()}" fill="none" stroke="${escapeXml(l.color)}" stroke-width="2" stroke-linejoin="round"${l.dashed ? ' stroke-dasharray="6 3"' : ''}${l.opacity !== undefined ? ` stroke-opacity="${Math.round(l.opacity * 100) / 100}"` : ''}><title>${escapeXml(l.label)}</title></path>`,
    );
  }
  body.push(`<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH + 34}" text-anchor="middle" fill="#374151">${escapeXml(c.xLabel)}</text>`);
  body.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#374151">${escapeXml(c.yLabel)}</text>`);
  const legend = c.legend ?? c.lines.map((l) => ({ label: l.label, color: l.color, dashed: l.dashed }));
  body.push(...legendItems(legend, MARGIN.left, height - 14));
  return frame(width, height, c.title, body);
}

export function stackedBars(c: StackedBars): string {
  const width = c.width ?? 640;
  const height = c.height ?? 340;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom - 16;
  const totals = c.groups.flatMap((g) => g.bars.map((b) => b.segments.reduce((s, x) => s + (Number.isFinite(x.value) ? x.value : 0), 0)));
  const yTicks = niceTicks(0, Math.max(...totals, 0), 5);
  const yTop = yTicks[yTicks.length - 1];
  const sy = (v: number) => MARGIN.top + plotH - (v / (yTop || 1)) * plotH;
  const body: string[] = [];
  for (const t of yTicks) {
    body.push(`<line x1="${MARGIN.left}" y1="${n(sy(t))}" x2="${MARGIN.left + plotW}" y2="${n(sy(t))}" stroke="#e5e7eb"/>`);
    body.push(`<text x="${MARGIN.left - 6}" y="${n(sy(t) + 4)}" text-anchor="end" fill="#4b5563">${escapeXml(formatNumber(t))}</text>`);
  }
  const groupW = plotW / Math.max(1, c.groups.length);
  c.groups.forEach((g, gi) => {
    const barW = Math.min(56, (groupW * 0.7) / Math.max(1, g.bars.length));
    const start = MARGIN.left + gi * groupW + (groupW - barW * g.bars.length - 8 * (g.bars.length - 1)) / 2;
    g.bars.forEach((b, bi) => {
      const x = start + bi * (barW + 8);
      let acc = 0;
      for (const s of b.segments) {
        if (!(s.value > 0)) continue;
        const y1 = sy(acc + s.value);
        body.push(
          `<rect x="${n(x)}" y="${n(y1)}" width="${n(barW)}" height="${n(sy(acc) - y1)}" fill="${escapeXml(c.colors[s.key] ?? '#9ca3af')}"><title>${escapeXml(`${g.label}, ${b.label}: ${s.key} ${formatNumber(s.value)}`)}</title></rect>`,
        );
        acc += s.value;
      }
      body.push(`<text x="${n(x + barW / 2)}" y="${n(sy(acc) - 4)}" text-anchor="middle" fill="#111827">${escapeXml(formatNumber(acc))}</text>`);
      body.push(`<text x="${n(x + barW / 2)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle" fill="#374151">${escapeXml(b.label)}</text>`);
    });
    body.push(`<text x="${n(MARGIN.left + gi * groupW + groupW / 2)}" y="${MARGIN.top + plotH + 34}" text-anchor="middle" font-weight="600" fill="#111827">${escapeXml(g.label)}</text>`);
  });
  body.push(`<line x1="${MARGIN.left}" y1="${MARGIN.top + plotH}" x2="${MARGIN.left + plotW}" y2="${MARGIN.top + plotH}" stroke="#9ca3af"/>`);
  body.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#374151">${escapeXml(c.yLabel)}</text>`);
  body.push(...legendItems(Object.entries(c.colors).map(([label, color]) => ({ label, color, box: true })), MARGIN.left, height - 14));
  return frame(width, height, c.title, body);
}

/** An empirical CDF's points: each sample against the share of samples at or below it. */
export function cdfPoints(samples: number[]): Array<[number, number]> {
  const sorted = samples.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted.map((v, i) => [Math.max(v, 0.1), (i + 1) / sorted.length]);
}
