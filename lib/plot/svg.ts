/**
 * A small SVG document builder with no dependencies. Every text and attribute value is escaped
 * (& < > " '), characters XML 1.0 forbids are replaced, element and attribute names are checked,
 * and no number that is not finite is ever written: an element with a NaN or infinite numeric
 * attribute is left out, and path data breaks the line at such a point (linePath, bandPath).
 */

/** An attribute's value: numbers are formatted (finite only), null/undefined/false leave it out. */
export type AttrValue = string | number | boolean | null | undefined;
export type Attrs = Readonly<Record<string, AttrValue>>;

// Control characters other than tab, newline and carriage return, lone surrogates and the two
// non-characters are not allowed anywhere in an XML 1.0 document.
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;

/** `s` as XML character data or an attribute value: the five special characters escaped and
 * characters XML forbids replaced by U+FFFD. */
export function escapeXml(s: string): string {
  return String(s).replace(INVALID_XML, '\uFFFD').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A finite number with at most `digits` decimals, no trailing zeros, no exponent, no "-0".
 * Throws on NaN or an infinity: callers decide what to leave out before they get here. */
export function fmt(v: number, digits = 2): string {
  if (!Number.isFinite(v)) throw new RangeError(`svg: a non-finite number (${v}) cannot be written`);
  const s = v.toFixed(digits);
  const trimmed = s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
  return trimmed === '-0' ? '0' : trimmed;
}

function checkName(name: string): void {
  if (!NAME.test(name)) throw new Error(`svg: ${JSON.stringify(name)} is not a valid element or attribute name`);
}

/** The attributes as text, or null when a numeric value is not finite (the element is skipped). */
function attrText(attrs: Attrs): string | null {
  let out = '';
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    checkName(name);
    let text: string;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return null;
      text = fmt(value);
    } else text = value === true ? name : value;
    out += ` ${name}="${escapeXml(text)}"`;
  }
  return out;
}

/** Builds one SVG document: open/close groups, add elements and text, then toString(). */
export class SvgDocument {
  readonly #parts: string[] = [];
  readonly #open: string[] = [];
  /** Elements left out because a numeric attribute was not finite. */
  skipped = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    title?: string,
  ) {
    if (!(width > 0 && height > 0 && Number.isFinite(width) && Number.isFinite(height))) throw new RangeError('svg: width and height must be finite and positive');
    this.#parts.push('<?xml version="1.0" encoding="UTF-8"?>\n');
    this.open('svg', {
      xmlns: 'http://www.w3.org/2000/svg',
      width,
      height,
      viewBox: `0 0 ${fmt(width)} ${fmt(height)}`,
      'font-family': 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif',
      'font-size': 12,
    });
    if (title !== undefined) this.element('title', {}, title);
    this.element('rect', { x: 0, y: 0, width, height, fill: '#ffffff' });
  }

  /** Opens a container element (g, svg); close it with close(). Its attributes are layout, not
   * data: a non-finite number there is a bug and throws. */
  open(name: string, attrs: Attrs = {}): void {
    checkName(name);
    const a = attrText(attrs);
    if (a === null) throw new RangeError(`svg: a non-finite attribute on <${name}>`);
    this.#parts.push(`<${name}${a}>\n`);
    this.#open.push(name);
  }

  close(): void {
    const name = this.#open.pop();
    if (name === undefined || name === 'svg') throw new Error('svg: close() without an open element');
    this.#parts.push(`</${name}>\n`);
  }

  /** Adds one element (with escaped text content when given). Returns false when it was left
   * out because a numeric attribute was not finite. */
  element(name: string, attrs: Attrs, text?: string): boolean {
    checkName(name);
    const a = attrText(attrs);
    if (a === null) {
      this.skipped++;
      return false;
    }
    this.#parts.push(text === undefined ? `<${name}${a}/>\n` : `<${name}${a}>${escapeXml(text)}</${name}>\n`);
    return true;
  }

  /** A text element at (x, y). */
  text(x: number, y: number, s: string, attrs: Attrs = {}): boolean {
    return this.element('text', { x, y, ...attrs }, s);
  }

  /** A path; nothing is added for empty path data. */
  path(d: string, attrs: Attrs = {}): boolean {
    if (d === '') return false;
    return this.element('path', { d, ...attrs });
  }

  toString(): string {
    if (this.#open.length !== 1) throw new Error(`svg: unclosed elements ${this.#open.slice(1).join(', ')}`);
    return `${this.#parts.join('')}</svg>\n`;
  }
}

/** Path data of a polyline through the points; a non-finite coordinate breaks the line (a gap),
 * and a lone point between two gaps is drawn as a dot-sized segment so that it stays visible. */
export function linePath(xs: ArrayLike<number>, ys: ArrayLike<number>): string {
  const parts: string[] = [];
  let run: string[] = [];
  const flush = () => {
    if (run.length === 1) run.push('h0.01');
    if (run.length > 0) parts.push(run.join(' '));
    run = [];
  };
  const n = Math.min(xs.length, ys.length);
  for (let i = 0; i < n; i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      flush();
      continue;
    }
    run.push(`${run.length === 0 ? 'M' : 'L'}${fmt(x)} ${fmt(y)}`);
  }
  flush();
  return parts.join(' ');
}

/** Path data of the area between two lines (filled polygons); a step where any coordinate is not
 * finite splits the area into separate closed pieces. */
export function bandPath(xs: ArrayLike<number>, lo: ArrayLike<number>, hi: ArrayLike<number>): string {
  const pieces: string[] = [];
  let start = -1;
  const n = Math.min(xs.length, lo.length, hi.length);
  const ok = (i: number) => Number.isFinite(xs[i]!) && Number.isFinite(lo[i]!) && Number.isFinite(hi[i]!);
  const emit = (a: number, b: number) => {
    const top: string[] = [];
    for (let i = a; i < b; i++) top.push(`${i === a ? 'M' : 'L'}${fmt(xs[i]!)} ${fmt(hi[i]!)}`);
    for (let i = b - 1; i >= a; i--) top.push(`L${fmt(xs[i]!)} ${fmt(lo[i]!)}`);
    pieces.push(`${top.join(' ')} Z`);
  };
  for (let i = 0; i <= n; i++) {
    if (i < n && ok(i)) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      emit(start, i);
      start = -1;
    }
  }
  return pieces.join(' ');
}
