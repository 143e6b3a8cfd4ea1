/**
 * The forecast fan chart: the context's last points as a line (NaN shows as a gap), the quantile
 * bands 10-90, 20-80, 30-70 and 40-60 (those whose levels exist) nested with increasing opacity,
 * the median, a vertical line at the forecast origin, a legend, and a coloured badge when the
 * forecast is a fallback (the fan then drawn dashed), was corrected, or was blocked.
 */
import { bottomAxis, leftAxis, linearScale, niceTicks } from './axis';
import { bandPath, linePath, SvgDocument } from './svg';

export interface FanChartInput {
  context: ArrayLike<number>;
  /** [horizon, levels] row-major (a batch of one: [1, horizon, levels]); null when blocked. */
  quantiles: Float32Array | readonly number[] | null;
  levels: readonly number[];
  title: string;
  /** The guardian's status: ok, corrected, fallback or blocked. */
  status: string;
  /** The fallback method when the status is 'fallback' (e.g. 'seasonal-naive'). */
  fallback?: string | null;
  /** A shield corrected the input or output (shown even when the status is a fallback). */
  corrected?: boolean;
  /** Context points drawn (default 128). */
  tail?: number;
  /** Short lines shown under the title (the shields that acted, the reason). */
  notes?: readonly string[];
}

/** The nested bands, outermost first. */
export const FAN_BANDS: readonly (readonly [number, number])[] = [
  [0.1, 0.9],
  [0.2, 0.8],
  [0.3, 0.7],
  [0.4, 0.6],
];
const BAND_OPACITY = [0.16, 0.24, 0.32, 0.4];
const MODEL_COLOUR = '#2b6cb0';
const FALLBACK_COLOUR = '#c05621';
const BADGES = { fallback: '#c05621', corrected: '#b7791f', blocked: '#c53030' } as const;

const W = 860;
const H = 460;
const RIGHT = 180;
const LEFT = 78;
const BOTTOM = 52;

function levelIndex(levels: readonly number[], level: number): number {
  return levels.findIndex((l) => Math.abs(l - level) < 1e-6);
}

function percent(l: number): string {
  return String(Math.round(l * 100));
}

/** The badges the chart carries: [class suffix, text]. */
function badgesOf(input: FanChartInput): [keyof typeof BADGES, string][] {
  const out: [keyof typeof BADGES, string][] = [];
  if (input.status === 'fallback') out.push(['fallback', `fallback: ${input.fallback || 'unnamed method'}`]);
  if (input.status === 'corrected' || input.corrected === true) out.push(['corrected', 'corrected by the shields']);
  if (input.status === 'blocked') out.push(['blocked', 'blocked: no forecast served']);
  return out;
}

export function fanChartSvg(input: FanChartInput): string {
  const levels = input.levels;
  const K = levels.length;
  const q = input.quantiles;
  if (q && (K === 0 || q.length % K !== 0)) throw new RangeError(`fanChartSvg: ${q.length} quantile values do not fill rows of ${K} levels`);
  const tail = input.tail ?? 128;
  if (!(Number.isInteger(tail) && tail >= 1)) throw new RangeError(`fanChartSvg: tail must be a positive integer, got ${tail}`);
  const n = input.context.length;
  const m = Math.min(tail, n);
  const ctx = Array.from({ length: m }, (_, i) => Number(input.context[n - m + i]));
  const ctxX = ctx.map((_, i) => i - (m - 1));
  const horizon = q ? q.length / K : 0;
  const stepX = Array.from({ length: horizon }, (_, h) => h + 1);
  const column = (k: number) => Array.from({ length: horizon }, (_, h) => Number(q![h * K + k]));
  const bands = FAN_BANDS.map(([lo, hi], i) => ({ lo, hi, i, a: levelIndex(levels, lo), b: levelIndex(levels, hi) }))
    .filter((b) => b.a >= 0 && b.b >= 0)
    .map((b) => ({ ...b, loVals: column(b.a), hiVals: column(b.b) }));
  const med = levelIndex(levels, 0.5);
  const median = med >= 0 && q ? column(med) : [];

  // The y range over everything drawn (finite values only).
  let yMin = Infinity;
  let yMax = -Infinity;
  for (const arr of [ctx, median, ...bands.flatMap((b) => [b.loVals, b.hiVals])]) {
    for (const v of arr) {
      if (!Number.isFinite(v)) continue;
      if (v < yMin) yMin = v;
      if (v > yMax) yMax = v;
    }
  }
  const yt = niceTicks(yMin, yMax, 6);
  const xMin = m > 0 ? -(m - 1) : 0;
  const xMax = Math.max(horizon, 1);
  const xt = niceTicks(xMin, xMax, 8);
  const badges = badgesOf(input);
  const notes = (input.notes ?? []).slice(0, 3);
  const top = 66 + 15 * notes.length;
  const [px0, px1, py0, py1] = [LEFT, W - RIGHT, top, H - BOTTOM];
  const sx = linearScale(xMin, xMax, px0, px1);
  const sy = linearScale(yt.lo, yt.hi, py1, py0);

  const doc = new SvgDocument(W, H, input.title);
  doc.text(16, 24, input.title, { 'font-size': 15, 'font-weight': 'bold', fill: '#1a202c' });
  doc.text(16, 44, `status: ${input.status}; ${m} context points, ${horizon}-step forecast`, { class: 'status', fill: '#4a5568' });
  notes.forEach((line, i) => doc.text(16, 64 + 15 * i, line, { class: 'note', 'font-size': 11, fill: '#718096' }));

  leftAxis(doc, py0, py1, { ticks: yt, scale: sy, at: px0, gridTo: px1 });
  bottomAxis(doc, px0, px1, { ticks: { ...xt, values: xt.values.filter((v) => v >= xMin && v <= xMax) }, scale: sx, at: py1, gridTo: py0, label: 'steps from the forecast origin' });

  const fallback = input.status === 'fallback';
  const colour = fallback ? FALLBACK_COLOUR : MODEL_COLOUR;
  const dash = fallback ? '6 4' : undefined;
  const fx = stepX.map(sx);
  doc.open('g', { class: 'fan' });
  for (const b of bands) {
    doc.path(bandPath(fx, b.loVals.map(sy), b.hiVals.map(sy)), {
      class: `band band-${percent(b.lo)}-${percent(b.hi)}`,
      fill: colour,
      'fill-opacity': BAND_OPACITY[b.i],
      stroke: dash ? colour : 'none',
      'stroke-opacity': dash ? 0.7 : undefined,
      'stroke-dasharray': dash,
    });
  }
  doc.path(linePath(fx, median.map(sy)), { class: 'median', fill: 'none', stroke: colour, 'stroke-width': 2, 'stroke-dasharray': dash, 'stroke-linecap': 'round' });
  doc.close();
  doc.path(linePath(ctxX.map(sx), ctx.map(sy)), { class: 'context', fill: 'none', stroke: '#2d3748', 'stroke-width': 1.5, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' });
  const ox = sx(0);
  doc.element('line', { class: 'origin', x1: ox, y1: py0, x2: ox, y2: py1, stroke: '#718096', 'stroke-width': 1, 'stroke-dasharray': '3 3' });
  doc.text(ox - 4, py0 + 12, 'forecast origin', { 'text-anchor': 'end', 'font-size': 11, fill: '#718096' });

  // Badges in the header, right-aligned on the status line, right to left.
  let bx = W - 16;
  for (const [kind, text] of badges) {
    const w = text.length * 6.6 + 18;
    bx -= w;
    doc.open('g', { class: `badge badge-${kind}` });
    doc.element('rect', { x: bx, y: 30, width: w, height: 22, rx: 11, fill: BADGES[kind] });
    doc.text(bx + w / 2, 45, text, { 'text-anchor': 'middle', fill: '#ffffff', 'font-weight': 'bold', 'font-size': 11 });
    doc.close();
    bx -= 6;
  }

  // The legend, right of the plot.
  const lx = W - RIGHT + 18;
  let ly = py0 + 8;
  doc.open('g', { class: 'legend', 'font-size': 11, fill: '#2d3748' });
  const entry = (draw: () => void, label: string) => {
    draw();
    doc.text(lx + 30, ly + 4, label);
    ly += 20;
  };
  entry(() => doc.element('line', { x1: lx, y1: ly, x2: lx + 22, y2: ly, stroke: '#2d3748', 'stroke-width': 1.5 }), 'context');
  if (median.length) entry(() => doc.element('line', { x1: lx, y1: ly, x2: lx + 22, y2: ly, stroke: colour, 'stroke-width': 2, 'stroke-dasharray': dash }), fallback ? 'median (fallback)' : 'median');
  for (const b of bands) {
    entry(
      () => doc.element('rect', { class: 'legend-swatch', x: lx, y: ly - 6, width: 22, height: 12, fill: colour, 'fill-opacity': BAND_OPACITY[b.i], stroke: dash ? colour : 'none', 'stroke-dasharray': dash }),
      `${percent(b.lo)}-${percent(b.hi)}% interval`,
    );
  }
  entry(() => doc.element('line', { x1: lx, y1: ly, x2: lx + 22, y2: ly, stroke: '#718096', 'stroke-dasharray': '3 3' }), 'forecast origin');
  doc.close();
  return doc.toString();
}
