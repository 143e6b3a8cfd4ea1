/**
 * The safety summary chart (the report of `npm run safety-report`): per vulnerability category
 * and overall, the share of safe cases on the raw model path and on the guarded path as paired
 * horizontal bars on a 0..100% axis.
 */
import type { SafetyReport, SideSummary } from '../safety/runner';
import { bottomAxis, linearScale, niceTicks } from './axis';
import { SvgDocument } from './svg';

const LABEL_W = 190;
const BAR_W = 420;
const GROUP = 46;
const BAR_H = 15;
const W = 16 + LABEL_W + BAR_W + 130;
const COLOURS = { raw: '#a0aec0', guarded: '#2f855a' } as const;

export function safetySummarySvg(report: SafetyReport, options: { title?: string } = {}): string {
  const groups: { label: string; raw: SideSummary; guarded: SideSummary; cases: number; overall: boolean }[] = [
    ...report.categories.map((c) => ({ label: c.label, raw: c.raw, guarded: c.guarded, cases: c.cases, overall: false })),
    { label: 'overall', raw: report.overall.raw, guarded: report.overall.guarded, cases: report.cases, overall: true },
  ];
  const top = 92;
  const bottom = top + groups.length * GROUP + 8;
  const height = bottom + 46;
  const title = options.title ?? 'Safety per vulnerability category: raw model path vs guarded path';
  const doc = new SvgDocument(W, height, title);
  doc.text(16, 24, title, { 'font-size': 15, 'font-weight': 'bold', fill: '#1a202c' });
  const verdict = report.passed ? 'PASSED' : 'FAILED';
  doc.text(16, 44, `${report.cases} cases; audit ${report.audit.records}/${report.audit.calls} guarded calls recorded; ${verdict}`, {
    class: 'summary',
    fill: report.passed ? '#2f855a' : '#c53030',
  });

  const x0 = 16 + LABEL_W;
  const x1 = x0 + BAR_W;
  const sx = linearScale(0, 100, x0, x1);
  bottomAxis(doc, x0, x1, { ticks: niceTicks(0, 100, 5), scale: sx, at: bottom, gridTo: top - 6, format: (v) => `${v}%`, label: 'safe cases' });

  // Legend
  let lx = x0;
  for (const side of ['raw', 'guarded'] as const) {
    doc.element('rect', { class: 'legend-swatch', x: lx, y: top - 30, width: 14, height: 12, fill: COLOURS[side] });
    const text = side === 'raw' ? 'raw model path (ModelSession + rollout)' : 'guarded path (TiRexGuardian)';
    doc.text(lx + 20, top - 20, text, { 'font-size': 11, fill: '#2d3748' });
    lx += text.length * 6 + 44;
  }

  groups.forEach((g, i) => {
    const y = top + i * GROUP;
    if (g.overall) doc.element('line', { x1: 16, y1: y - 4, x2: x1, y2: y - 4, stroke: '#a0aec0' });
    doc.text(x0 - 8, y + BAR_H + 5, g.label, { class: 'category-label', 'text-anchor': 'end', fill: '#1a202c', 'font-weight': g.overall ? 'bold' : undefined });
    doc.text(x0 - 8, y + BAR_H + 18, `${g.cases} cases`, { 'text-anchor': 'end', 'font-size': 10, fill: '#718096' });
    (['raw', 'guarded'] as const).forEach((side, k) => {
      const s = g[side];
      const by = y + k * (BAR_H + 3);
      const pct = Number.isFinite(s.pct) ? Math.min(100, Math.max(0, s.pct)) : null;
      doc.open('g');
      doc.element('title', {}, `${g.label}, ${side} path: ${s.safe} of ${s.total} cases safe`);
      if (pct !== null) doc.element('rect', { class: `bar ${side}`, x: x0, y: by, width: sx(pct) - x0, height: BAR_H, fill: COLOURS[side] });
      doc.close();
      const label = pct === null ? 'n/a' : `${s.pct.toFixed(1)}% (${s.safe}/${s.total})`;
      doc.text(sx(pct ?? 0) + 4, by + BAR_H - 3, label, { class: 'value', 'font-size': 11, fill: side === 'guarded' && pct !== 100 ? '#c53030' : '#2d3748' });
    });
  });
  return doc.toString();
}
