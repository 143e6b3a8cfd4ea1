/**
 * The evaluation chart (the report of `tirex-guardian evaluate`): per series, a horizontal bar of
 * the WQL ratio (model / last-value baseline) with the 1.0 line marked, bars beyond the axis cap
 * clipped and labelled with their value; and a bar of the model's interval coverage against the
 * interval's nominal level, the baseline's coverage as a marker.
 */
import type { EvaluationResult } from '../eval/evaluate';
import { bottomAxis, linearScale, niceTicks } from './axis';
import { fmt, SvgDocument } from './svg';

export interface EvaluationChartOptions {
  /** The nominal coverage of the interval the report's coverage counts (last level minus first
   * level: 0.8 for the 10-90% interval of the shipped model's levels). */
  nominalCoverage?: number;
  title?: string;
}

const ROW = 22;
const LABEL_W = 200;
const WQL_W = 300;
const GAP = 70;
const COV_W = 250;
const W = 16 + LABEL_W + WQL_W + GAP + COV_W + 56;
/** The WQL axis never reaches beyond this ratio: a worse series is clipped and labelled. */
export const WQL_RATIO_CAP = 2;

function shortId(id: string): string {
  return id.length > 30 ? `${id.slice(0, 29)}\u2026` : id;
}

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');
/** Value labels carry a white halo: readable over the grid and the reference lines. */
const VALUE = { 'font-size': 11, fill: '#2d3748', stroke: '#ffffff', 'stroke-width': 3, 'paint-order': 'stroke', 'stroke-linejoin': 'round' } as const;

export function evaluationSvg(report: EvaluationResult, options: EvaluationChartOptions = {}): string {
  const nominal = options.nominalCoverage ?? 0.8;
  if (!(nominal > 0 && nominal < 1)) throw new RangeError(`evaluationSvg: nominalCoverage must be in (0, 1), got ${nominal}`);
  const series = report.series;
  const a = report.aggregate;
  const top = 92;
  const rows = Math.max(series.length, 1);
  const plotBottom = top + rows * ROW;
  const height = plotBottom + 60;
  const title = options.title ?? `Evaluation: ${report.model.name} ${report.model.version}, horizon 1..${report.horizon}`;
  const doc = new SvgDocument(W, height, title);
  doc.text(16, 24, title, { 'font-size': 15, 'font-weight': 'bold', fill: '#1a202c' });
  doc.text(16, 44, `${a.series} series, ${a.windows} windows; WQL ratio to the last-value baseline (geometric mean) ${f3(a.wqlRatio)}, ` + `coverage ${f3(a.coverage)} (baseline ${f3(a.baselineCoverage)})`, {
    class: 'summary',
    fill: '#4a5568',
  });

  const wx0 = 16 + LABEL_W;
  const wx1 = wx0 + WQL_W;
  const cx0 = wx1 + GAP;
  const cx1 = cx0 + COV_W;
  const finite = series.map((s) => s.wqlRatio).filter((v) => Number.isFinite(v) && v >= 0);
  const wt = niceTicks(0, Math.min(WQL_RATIO_CAP, Math.max(1.2, ...finite)), 4);
  const sw = linearScale(0, wt.hi, wx0, wx1);
  const sc = linearScale(0, 1, cx0, cx1);
  doc.text(wx0, top - 12, 'WQL ratio, model / baseline (lower is better)', { 'font-weight': 'bold', fill: '#2d3748' });
  doc.text(cx0, top - 12, `coverage of the ${Math.round(nominal * 100)}% interval`, { 'font-weight': 'bold', fill: '#2d3748' });
  bottomAxis(doc, wx0, wx1, { ticks: wt, scale: sw, at: plotBottom, gridTo: top - 4 });
  const ct = niceTicks(0, 1, 5);
  bottomAxis(doc, cx0, cx1, { ticks: ct, scale: sc, at: plotBottom, gridTo: top - 4, format: (v) => `${Math.round(v * 100)}%` });

  if (series.length === 0) doc.text(wx0 + 8, top + 15, 'no series was evaluated', { fill: '#c53030' });
  // Labels are written after the reference lines, over them.
  const labels: (() => void)[] = [];
  series.forEach((s, i) => {
    const y = top + i * ROW + 3;
    const h = ROW - 6;
    doc.text(wx0 - 8, y + h - 4, shortId(s.id), { class: 'series-label', 'text-anchor': 'end', fill: '#2d3748' });
    // WQL ratio
    const r = s.wqlRatio;
    if (Number.isFinite(r) && r >= 0) {
      const clipped = r > wt.hi;
      const end = sw(Math.min(r, wt.hi));
      doc.open('g');
      doc.element('title', {}, `${s.id}: WQL ratio ${fmt(r, 4)} (model ${fmt(s.model.wql, 5)}, baseline ${fmt(s.lastValue.wql, 5)})`);
      doc.element('rect', { class: `bar wql-bar${clipped ? ' clipped' : ''}`, x: wx0, y, width: Math.max(0, end - wx0), height: h, fill: r <= 1 ? '#38a169' : '#dd6b20' });
      if (clipped) doc.path(`M${fmt(end - 6)} ${fmt(y)} L${fmt(end)} ${fmt(y + h / 2)} L${fmt(end - 6)} ${fmt(y + h)}`, { class: 'clip-mark', fill: 'none', stroke: '#ffffff', 'stroke-width': 2 });
      doc.close();
      // A clipped bar fills the panel: its value is written inside its end, beside the clip mark.
      if (clipped) labels.push(() => doc.text(end - 10, y + h - 4, `${r.toFixed(2)} \u2192`, { class: 'value clipped-value', 'text-anchor': 'end', 'font-size': 11, 'font-weight': 'bold', fill: '#ffffff' }));
      else labels.push(() => doc.text(end + 4, y + h - 4, r.toFixed(2), { ...VALUE, class: 'value' }));
    } else {
      labels.push(() => doc.text(wx0 + 4, y + h - 4, 'n/a', { ...VALUE, class: 'value', fill: '#c53030' }));
    }
    // Coverage
    const c = s.model.coverage;
    if (Number.isFinite(c)) {
      const cc = Math.min(1, Math.max(0, c));
      doc.open('g');
      doc.element('title', {}, `${s.id}: coverage ${fmt(c * 100, 1)}% (baseline ${Number.isFinite(s.lastValue.coverage) ? `${fmt(s.lastValue.coverage * 100, 1)}%` : 'n/a'}), nominal ${fmt(nominal * 100, 1)}%`);
      doc.element('rect', { class: 'bar coverage-bar', x: cx0, y, width: sc(cc) - cx0, height: h, fill: '#4299e1', 'fill-opacity': 0.85 });
      doc.close();
      // In a column right of the panel: the baseline's marker may sit just past the bar.
      labels.push(() => doc.text(cx1 + 8, y + h - 4, `${Math.round(c * 100)}%`, { ...VALUE, class: 'value' }));
    } else {
      labels.push(() => doc.text(cx1 + 8, y + h - 4, 'n/a', { ...VALUE, class: 'value', fill: '#c53030' }));
    }
    const b = s.lastValue.coverage;
    if (Number.isFinite(b)) {
      const bx = sc(Math.min(1, Math.max(0, b)));
      doc.path(`M${fmt(bx)} ${fmt(y - 1)} L${fmt(bx + 4)} ${fmt(y + h / 2)} L${fmt(bx)} ${fmt(y + h + 1)} L${fmt(bx - 4)} ${fmt(y + h / 2)} Z`, { class: 'baseline-marker', fill: '#2d3748' });
    }
  });

  // Reference lines over the bars: ratio 1.0 and the nominal coverage.
  const one = sw(1);
  doc.element('line', { class: 'reference ratio-one', x1: one, y1: top - 4, x2: one, y2: plotBottom, stroke: '#1a202c', 'stroke-width': 1.5, 'stroke-dasharray': '4 3' });
  doc.text(one + 3, plotBottom + 34, '1.0 = baseline', { 'font-size': 11, fill: '#1a202c' });
  const nx = sc(nominal);
  doc.element('line', { class: 'reference nominal', x1: nx, y1: top - 4, x2: nx, y2: plotBottom, stroke: '#1a202c', 'stroke-width': 1.5, 'stroke-dasharray': '4 3' });
  doc.text(nx, plotBottom + 34, `nominal ${Math.round(nominal * 100)}%`, { 'text-anchor': 'middle', 'font-size': 11, fill: '#1a202c' });
  for (const label of labels) label();
  doc.path(`M${fmt(cx0)} ${fmt(plotBottom + 46)} l4 -6 l4 6 l-4 6 Z`, { fill: '#2d3748' });
  doc.text(cx0 + 12, plotBottom + 50, 'baseline coverage', { 'font-size': 11, fill: '#4a5568' });
  return doc.toString();
}
