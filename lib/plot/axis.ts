/**
 * Scales and axes: "nice" tick steps (1, 2, 2.5 or 5 times a power of ten), a linear scale, and
 * the drawing of a horizontal or vertical axis with its ticks, labels and grid lines.
 */
import { SvgDocument } from './svg';

export interface Ticks {
  /** The axis range, widened to whole steps. */
  lo: number;
  hi: number;
  step: number;
  values: number[];
  /** Decimals that show every tick exactly. */
  decimals: number;
}

/** The nice step for `span` split into about `count` intervals. */
export function niceStep(span: number, count = 5): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  const m = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return m * p;
}

/** Decimals that write every multiple of a nice step exactly (2.5e-3 needs 4). */
export function stepDecimals(step: number): number {
  const e = Math.floor(Math.log10(step) + 1e-9);
  const m = Math.round((step / 10 ** e) * 10) / 10;
  return Math.max(0, Math.min(12, -e + (Number.isInteger(m) ? 0 : 1)));
}

/** Ticks covering [min, max] at a nice step. A degenerate or non-finite range is widened. */
export function niceTicks(min: number, max: number, count = 5): Ticks {
  let a = Number.isFinite(min) ? min : Number.isFinite(max) ? max : 0;
  let b = Number.isFinite(max) ? max : a;
  if (a > b) [a, b] = [b, a];
  if (b - a < 1e-12 * Math.max(1, Math.abs(a))) {
    const pad = a === 0 ? 1 : Math.abs(a) * 0.05;
    a -= pad;
    b += pad;
  }
  const step = niceStep(b - a, count);
  const lo = Math.floor(a / step + 1e-9) * step;
  const hi = Math.ceil(b / step - 1e-9) * step;
  const n = Math.round((hi - lo) / step);
  const decimals = stepDecimals(step);
  const values = Array.from({ length: n + 1 }, (_, i) => Number((lo + i * step).toFixed(decimals)));
  return { lo: values[0]!, hi: values[n]!, step, values, decimals };
}

/** A tick label: fixed decimals, or an exponent for very large or very small magnitudes. */
export function tickLabel(v: number, decimals: number): string {
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e7 || abs < 1e-4) return v.toExponential(2);
  return v.toFixed(decimals);
}

/** Maps [d0, d1] onto [r0, r1]; a value outside the domain maps outside the range. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v: number) => r0 + (v - d0) * k;
}

export interface AxisOptions {
  ticks: Ticks;
  scale: (v: number) => number;
  /** The other coordinate of the axis line (y of a bottom axis, x of a left axis). */
  at: number;
  /** Grid lines across the plot, from `at` to this coordinate (none when undefined). */
  gridTo?: number;
  label?: string;
  format?: (v: number) => string;
}

/** A bottom axis: the line, ticks and labels below it, vertical grid lines up to gridTo. */
export function bottomAxis(doc: SvgDocument, x0: number, x1: number, o: AxisOptions): void {
  const format = o.format ?? ((v: number) => tickLabel(v, o.ticks.decimals));
  doc.open('g', { class: 'axis axis-x', stroke: '#555', 'stroke-width': 1 });
  for (const v of o.ticks.values) {
    const x = o.scale(v);
    if (o.gridTo !== undefined) doc.element('line', { x1: x, y1: o.at, x2: x, y2: o.gridTo, stroke: '#e6e6e6' });
    doc.element('line', { x1: x, y1: o.at, x2: x, y2: o.at + 5 });
    doc.text(x, o.at + 18, format(v), { 'text-anchor': 'middle', stroke: 'none', fill: '#333' });
  }
  doc.element('line', { x1: x0, y1: o.at, x2: x1, y2: o.at });
  if (o.label) doc.text((x0 + x1) / 2, o.at + 34, o.label, { 'text-anchor': 'middle', stroke: 'none', fill: '#333' });
  doc.close();
}

/** A left axis: the line, ticks and labels left of it, horizontal grid lines right to gridTo. */
export function leftAxis(doc: SvgDocument, y0: number, y1: number, o: AxisOptions): void {
  const format = o.format ?? ((v: number) => tickLabel(v, o.ticks.decimals));
  doc.open('g', { class: 'axis axis-y', stroke: '#555', 'stroke-width': 1 });
  for (const v of o.ticks.values) {
    const y = o.scale(v);
    if (o.gridTo !== undefined) doc.element('line', { x1: o.at, y1: y, x2: o.gridTo, y2: y, stroke: '#e6e6e6' });
    doc.element('line', { x1: o.at - 5, y1: y, x2: o.at, y2: y });
    doc.text(o.at - 8, y + 4, format(v), { 'text-anchor': 'end', stroke: 'none', fill: '#333' });
  }
  doc.element('line', { x1: o.at, y1: y0, x2: o.at, y2: y1 });
  if (o.label) {
    const cy = (y0 + y1) / 2;
    doc.text(14, cy, o.label, { 'text-anchor': 'middle', stroke: 'none', fill: '#333', transform: `rotate(-90 14 ${cy.toFixed(1)})` });
  }
  doc.close();
}
