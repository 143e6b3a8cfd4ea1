// The SVG writer under the charts (lib/plot/svg.ts, axis.ts, write.ts): escaping of every text and
// attribute, no non-finite number ever written, path data broken at gaps, nice ticks, the atomic
// write of a .svg file only.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { bandPath, escapeXml, fmt, linePath, SvgDocument } from '../lib/plot/svg';
import { niceStep, niceTicks, stepDecimals, tickLabel } from '../lib/plot/axis';
import { svgPathProblem, writeSvgFile } from '../lib/plot/write';
import { count, nonFiniteAttributes, xmlProblems } from './xml-wellformed';

const XSS = '<img src=x onerror=alert(1)>';

describe('the well-formedness check used by the chart tests', () => {
  it('accepts a small document and finds each kind of fault', () => {
    expect(xmlProblems('<?xml version="1.0"?>\n<svg a="1" b=\'2\'><g><rect x="1"/></g>&amp;&#38;&#x26;</svg>\n')).toEqual([]);
    expect(xmlProblems('<svg><g></svg>')).toEqual(['</svg> closes <g> at offset 8', 'unclosed elements: svg']);
    expect(xmlProblems('<svg a="<"/>').length).toBe(1);
    expect(xmlProblems('<svg>a & b</svg>')).toEqual(['an & that is not an entity or character reference near offset 5']);
    expect(xmlProblems('<svg>&nbsp;</svg>').length).toBe(1);
    expect(xmlProblems('<svg a="1" a="2"/>')).toEqual(['attribute a twice on <svg>']);
    expect(xmlProblems('<svg/><svg/>')).toEqual(['2 root elements']);
    expect(xmlProblems('<svg><img src=x onerror=alert(1)></svg>').length).toBeGreaterThan(0);
    expect(xmlProblems('<svg>\u0001</svg>')).toEqual(['a character XML 1.0 does not allow']);
    expect(nonFiniteAttributes('<svg><path d="M0 1 L2 NaN"/><text x="-Infinity">NaN handling</text></svg>')).toEqual(['d="M0 1 L2 NaN"', 'x="-Infinity"']);
  });
});

describe('escaping', () => {
  it('escapes the five special characters and replaces characters XML forbids', () => {
    expect(escapeXml(`a&b<c>d"e'f`)).toBe('a&amp;b&lt;c&gt;d&quot;e&apos;f');
    expect(escapeXml(XSS)).toBe('&lt;img src=x onerror=alert(1)&gt;');
    expect(escapeXml('x\u0000y\u001bz\uFFFEw')).toBe('x\uFFFDy\uFFFDz\uFFFDw');
    expect(escapeXml('tab\tnl\ncr\r')).toBe('tab\tnl\ncr\r');
    expect(escapeXml('\uD83D\uDE00 ok, lone \uD83D')).toBe('\uD83D\uDE00 ok, lone \uFFFD');
    expect(escapeXml('&amp;')).toBe('&amp;amp;');
  });

  it('escapes text content and attribute values in the document, and the result is well-formed', () => {
    const doc = new SvgDocument(100, 50, XSS);
    doc.text(1, 2, XSS, { class: `a" onload="alert(2)`, 'data-x': "'&'" });
    const svg = doc.toString();
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).not.toContain('<img');
    expect(count(svg, '&lt;img src=x onerror=alert(1)&gt;')).toBe(2);
    expect(svg).toContain('class="a&quot; onload=&quot;alert(2)"');
    expect(svg).toContain('data-x="&apos;&amp;&apos;"');
    expect(svg).not.toContain('onload="');
  });

  it('refuses element and attribute names that are not names', () => {
    const doc = new SvgDocument(10, 10);
    expect(() => doc.element('rect onload=x', {})).toThrow(/not a valid element or attribute name/);
    expect(() => doc.element('rect', { 'x onload': 1 })).toThrow(/not a valid element or attribute name/);
    expect(() => doc.element('rect', { '"': 1 })).toThrow(/not a valid/);
  });
});

describe('numbers', () => {
  it('formats finite numbers plainly and refuses the others', () => {
    expect(fmt(1)).toBe('1');
    expect(fmt(1.005, 2)).toBe('1');
    expect(fmt(12.3456)).toBe('12.35');
    expect(fmt(-0.001)).toBe('0');
    expect(fmt(1234.5)).toBe('1234.5');
    expect(fmt(0.123456, 4)).toBe('0.1235');
    expect(fmt(-2.5)).toBe('-2.5');
    expect(() => fmt(NaN)).toThrow(RangeError);
    expect(() => fmt(Infinity)).toThrow(RangeError);
    expect(() => fmt(-Infinity)).toThrow(RangeError);
  });

  it('leaves out an element with a non-finite numeric attribute, and writes no NaN or Infinity', () => {
    const doc = new SvgDocument(10, 10);
    expect(doc.element('circle', { cx: NaN, cy: 1, r: 1 })).toBe(false);
    expect(doc.element('circle', { cx: 1, cy: Infinity, r: 1 })).toBe(false);
    expect(doc.text(-Infinity, 1, 'x')).toBe(false);
    expect(doc.element('circle', { cx: 1, cy: 1, r: 1 })).toBe(true);
    expect(doc.skipped).toBe(3);
    const svg = doc.toString();
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(count(svg, '<circle')).toBe(1);
    expect(() => doc.open('g', { opacity: NaN })).toThrow(RangeError);
    expect(() => new SvgDocument(NaN, 10)).toThrow(RangeError);
  });

  it('breaks a line at every non-finite coordinate', () => {
    expect(linePath([0, 1, 2, 3, 4], [1, 2, NaN, 4, 5])).toBe('M0 1 L1 2 M3 4 L4 5');
    expect(linePath([0, 1, 2, 3, 4], [Infinity, 2, -Infinity, 4, NaN])).toBe('M1 2 h0.01 M3 4 h0.01');
    expect(linePath([0, NaN, 2], [1, 1, 1])).toBe('M0 1 h0.01 M2 1 h0.01');
    expect(linePath([0, 1], [NaN, NaN])).toBe('');
    expect(linePath([], [])).toBe('');
  });

  it('splits a band into closed pieces at gaps', () => {
    expect(bandPath([0, 1, 2, 3], [0, 0, NaN, 1], [2, 2, 2, 3])).toBe('M0 2 L1 2 L1 0 L0 0 Z M3 3 L3 1 Z');
    expect(bandPath([0, 1], [NaN, 0], [1, Infinity])).toBe('');
    const doc = new SvgDocument(10, 10);
    expect(doc.path('')).toBe(false);
    expect(doc.toString()).not.toContain('<path');
  });
});

describe('ticks', () => {
  it('chooses steps of 1, 2, 2.5 or 5 times a power of ten', () => {
    expect(niceStep(10, 5)).toBe(2);
    expect(niceStep(1, 4)).toBe(0.25);
    expect(niceStep(100, 4)).toBe(25);
    expect(niceStep(7, 5)).toBe(2);
    expect(niceStep(0.03, 3)).toBeCloseTo(0.01, 15);
    expect(niceStep(0, 5)).toBe(1);
    expect(niceStep(NaN, 5)).toBe(1);
    expect(stepDecimals(0.25)).toBe(2);
    expect(stepDecimals(2.5)).toBe(1);
    expect(stepDecimals(20)).toBe(0);
  });

  it('covers the range with whole steps and exact labels', () => {
    expect(niceTicks(3.2, 17.9, 5)).toEqual({ lo: 0, hi: 20, step: 5, values: [0, 5, 10, 15, 20], decimals: 0 });
    expect(niceTicks(0, 0.9, 4).values).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(niceTicks(0, 1, 5).values).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-127, 32, 8).values).toEqual([-140, -120, -100, -80, -60, -40, -20, 0, 20, 40]);
    // Degenerate and non-finite ranges are widened, never NaN.
    expect(niceTicks(5, 5, 4).values).toEqual([4.6, 4.8, 5, 5.2, 5.4]);
    expect(niceTicks(Infinity, -Infinity, 4).values).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(niceTicks(NaN, 3, 4).values.every(Number.isFinite)).toBe(true);
    expect(tickLabel(0.30000000000000004, 1)).toBe('0.3');
    expect(tickLabel(2e8, 0)).toBe('2.00e+8');
  });
});

describe('writing a chart', () => {
  it('only to a name ending in .svg, through a temporary file and a rename', () => {
    expect(svgPathProblem('out.svg')).toBeNull();
    expect(svgPathProblem('dir/OUT.SVG')).toBeNull();
    expect(svgPathProblem('out.png')).toMatch(/must end in \.svg/);
    expect(svgPathProblem('out.svg.txt')).toMatch(/must end in \.svg/);
    expect(svgPathProblem('.svg')).toMatch(/must end in \.svg/);
    expect(svgPathProblem('dir.svg/')).toMatch(/must end in \.svg/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-plot-write-'));
    const file = path.join(dir, 'chart.svg');
    fs.writeFileSync(file, 'old');
    writeSvgFile(file, '<svg/>');
    expect(fs.readFileSync(file, 'utf8')).toBe('<svg/>');
    expect(fs.readdirSync(dir)).toEqual(['chart.svg']);
    expect(() => writeSvgFile(path.join(dir, 'chart.png'), '<svg/>')).toThrow(/must end in \.svg/);
    expect(() => writeSvgFile(path.join(dir, 'missing', 'x.svg'), '<svg/>')).toThrow(/ENOENT/);
    expect(fs.readdirSync(dir)).toEqual(['chart.svg']);
  });
});
