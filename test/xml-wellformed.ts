/**
 * A small strict XML well-formedness check for the SVG the charts write (no xmllint needed):
 * one root element, balanced tags, quoted and unique attributes, only the five named entities and
 * character references, no '<' in attribute values, no characters XML 1.0 forbids, nothing but
 * whitespace and comments outside the root. Returns the problems found (empty when well-formed).
 */
const NAME = '[A-Za-z_][A-Za-z0-9_.:-]*';
const START = new RegExp(`^<(${NAME})((?:\\s+${NAME}\\s*=\\s*(?:"[^"]*"|'[^']*'))*)\\s*(/?)>`);
const ATTR = new RegExp(`(${NAME})\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'g');
const END = new RegExp(`^</(${NAME})\\s*>`);
const REF = /&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);/g;
const INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

function badText(s: string): string | null {
  if (s.replace(REF, '').includes('&')) return 'an & that is not an entity or character reference';
  if (s.includes(']]>')) return "']]>' in text";
  return null;
}

export function xmlProblems(doc: string): string[] {
  const problems: string[] = [];
  if (INVALID.test(doc)) problems.push('a character XML 1.0 does not allow');
  let i = 0;
  const decl = /^<\?xml\s[^?]*\?>/.exec(doc);
  if (decl) i = decl[0].length;
  const stack: string[] = [];
  let roots = 0;
  while (i < doc.length && problems.length < 20) {
    const lt = doc.indexOf('<', i);
    const text = doc.slice(i, lt < 0 ? doc.length : lt);
    if (stack.length === 0 && text.trim() !== '') problems.push(`text outside the root: ${JSON.stringify(text.slice(0, 40))}`);
    const bt = badText(text);
    if (bt) problems.push(`${bt} near offset ${i}`);
    if (lt < 0) break;
    const rest = doc.slice(lt);
    if (rest.startsWith('<!--')) {
      const e = rest.indexOf('-->');
      if (e < 0) {
        problems.push('an unclosed comment');
        break;
      }
      i = lt + e + 3;
      continue;
    }
    const end = END.exec(rest);
    if (end) {
      const open = stack.pop();
      if (open !== end[1]) problems.push(`</${end[1]}> closes <${open ?? 'nothing'}> at offset ${lt}`);
      i = lt + end[0].length;
      continue;
    }
    const start = START.exec(rest);
    if (!start) {
      problems.push(`a malformed tag at offset ${lt}: ${JSON.stringify(rest.slice(0, 60))}`);
      break;
    }
    const seen = new Set<string>();
    for (const a of start[2]!.matchAll(ATTR)) {
      const value = a[2] ?? a[3] ?? '';
      if (seen.has(a[1]!)) problems.push(`attribute ${a[1]} twice on <${start[1]}>`);
      seen.add(a[1]!);
      if (value.includes('<')) problems.push(`'<' in the value of ${a[1]} on <${start[1]}>`);
      const bv = badText(value);
      if (bv) problems.push(`${bv} in the value of ${a[1]} on <${start[1]}>`);
    }
    if (stack.length === 0) roots++;
    if (start[3] !== '/') stack.push(start[1]!);
    i = lt + start[0].length;
  }
  if (stack.length) problems.push(`unclosed elements: ${stack.join(' > ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

/** The number of non-overlapping occurrences of `needle` in `s`. */
export function count(s: string, needle: string): number {
  return s.split(needle).length - 1;
}

/** The attributes of every element whose class list contains `cls`, as objects. */
export function elementsWithClass(svg: string, cls: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const m of svg.matchAll(/<([A-Za-z]+)((?:\s+[A-Za-z_:][A-Za-z0-9_:.-]*="[^"]*")*)\s*\/?>/g)) {
    const attrs: Record<string, string> = { '#name': m[1]! };
    for (const a of m[2]!.matchAll(/([A-Za-z_:][A-Za-z0-9_:.-]*)="([^"]*)"/g)) attrs[a[1]!] = a[2]!;
    if ((attrs.class ?? '').split(' ').includes(cls)) out.push(attrs);
  }
  return out;
}

/** Attribute values (coordinates, sizes, path data) that hold NaN or an infinity. */
export function nonFiniteAttributes(svg: string): string[] {
  return [...svg.matchAll(/[A-Za-z0-9_:.-]+="[^"]*(?:NaN|Infinity)[^"]*"/g)].map((m) => m[0]);
}
