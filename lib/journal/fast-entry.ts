/**
 * Reading journal lines without JSON.parse: the writer's canonical form (lib/audit/record.ts:
 * keys sorted, no whitespace, `hash` last) puts every field at a place a few indexOf calls find,
 * which measured about three times faster than parsing the whole line (BENCHMARKS.md, journal),
 * and scoring a journal is mostly reading it. `"key":` cannot occur inside a JSON string (its
 * quotes would be escaped), and keys are unique, so a search from the previous field finds the
 * field itself. A line this reader cannot take on its fast path (an escaped character in a
 * string, a non-finite number, a line not in canonical form) is parsed with JSON.parse instead:
 * the result is the same, only slower.
 */
export interface ForecastFields {
  seq: number;
  auditId: string | null;
  horizon: number;
  instrument: string;
  levels: number[];
  modelHash: string | null;
  naiveLast: number;
  naiveSigma: number;
  origin: number;
  q: string;
  source: string;
}

export interface OutcomeFields {
  seq: number;
  at: number;
  instrument: string;
  value: number;
}

const HASH_TAIL = 64 + 2; // the hash's hex digits, its closing quote and the brace
const FORECAST_END = '"type":"forecast","v":1,"hash":"';
// An outcome's `value` sorts after `v`: its number (at most 24 characters) comes before the hash.
const OUTCOME_END = '"type":"outcome","v":1,"value":';
const OUTCOME_SPAN = OUTCOME_END.length + 24 + ',"hash":"'.length + HASH_TAIL;

/** 'forecast' or 'outcome' for a canonical line of either, else null (the caller looks closer). */
export function fastKind(line: string): 'forecast' | 'outcome' | null {
  if (line.startsWith(FORECAST_END, line.length - HASH_TAIL - FORECAST_END.length)) return 'forecast';
  if (line.includes(OUTCOME_END, Math.max(0, line.length - OUTCOME_SPAN))) return 'outcome';
  return null;
}

const FORECAST_END_BYTES = Buffer.from(FORECAST_END);
const OUTCOME_END_BYTES = Buffer.from(OUTCOME_END);
const HASH_KEY = ',"hash":"'.length;

/** fastKind on the bytes of a line, before it is decoded. */
export function kindAt(buf: Buffer, start: number, end: number): 'forecast' | 'outcome' | null {
  const tail = end - HASH_TAIL;
  const f = tail - FORECAST_END_BYTES.length;
  if (f >= start && buf.compare(FORECAST_END_BYTES, 0, FORECAST_END_BYTES.length, f, tail) === 0) return 'forecast';
  // An outcome: the value's number between `"value":` and `,"hash":"`.
  let colon = tail - HASH_KEY - 1;
  const stop = Math.max(start, colon - 24);
  while (colon > stop && buf[colon] !== 0x3a) colon--;
  const o = colon + 1 - OUTCOME_END_BYTES.length;
  if (o >= start && buf[colon] === 0x3a && buf.compare(OUTCOME_END_BYTES, 0, OUTCOME_END_BYTES.length, o, colon + 1) === 0) return 'outcome';
  return null;
}

class Cursor {
  at = 0;
  ok = true;
  constructor(readonly s: string) {}

  /** Moves past `"key":`; false (and not ok) when the key is not found. */
  key(k: string): boolean {
    const i = this.s.indexOf(`"${k}":`, this.at);
    if (i < 0) return (this.ok = false);
    this.at = i + k.length + 3;
    return true;
  }

  number(k: string): number {
    if (!this.key(k)) return NaN;
    let end = this.at;
    const s = this.s;
    for (; end < s.length; end++) {
      const c = s.charCodeAt(end);
      if (c === 44 /* , */ || c === 125 /* } */ || c === 93 /* ] */) break;
    }
    const v = Number(s.slice(this.at, end));
    // A non-finite value is written as a string ("NaN"): the slow path reads it.
    if (!Number.isFinite(v)) this.ok = false;
    this.at = end;
    return v;
  }

  string(k: string): string | null {
    if (!this.key(k)) return null;
    const s = this.s;
    if (s.startsWith('null', this.at)) {
      this.at += 4;
      return null;
    }
    if (s.charCodeAt(this.at) !== 34) {
      this.ok = false;
      return null;
    }
    const end = s.indexOf('"', this.at + 1);
    const v = s.slice(this.at + 1, end);
    // An escape sequence: JSON.parse knows what it means.
    if (end < 0 || v.includes('\\')) {
      this.ok = false;
      return null;
    }
    this.at = end + 1;
    return v;
  }

  /** The raw text of an array of numbers. */
  rawArray(k: string): string {
    if (!this.key(k) || this.s.charCodeAt(this.at) !== 91) {
      this.ok = false;
      return '';
    }
    const end = this.s.indexOf(']', this.at);
    const raw = this.s.slice(this.at, end + 1);
    this.at = end + 1;
    return raw;
  }
}

// The levels of a journal are the same few arrays: parsed once each (bounded).
const levelsCache = new Map<string, number[]>();
function levelsOf(raw: string): number[] {
  let v = levelsCache.get(raw);
  if (v === undefined) {
    v = JSON.parse(raw) as number[];
    if (levelsCache.size > 64) levelsCache.clear();
    levelsCache.set(raw, v);
  }
  return v;
}

/** The fields of a canonical forecast line, or null when the fast path cannot take it. */
export function fastForecast(line: string): ForecastFields | null {
  const c = new Cursor(line);
  const auditId = c.string('auditId');
  const horizon = c.number('horizon');
  const instrument = c.string('instrument');
  const levels = c.rawArray('levels');
  const modelHash = c.string('modelHash');
  c.key('naive');
  const naiveLast = c.number('last');
  const naiveSigma = c.number('sigma');
  const origin = c.number('origin');
  const q = c.string('q');
  const seq = c.number('seq');
  const source = c.string('source');
  if (!c.ok || instrument === null || q === null || source === null) return null;
  return { seq, auditId, horizon, instrument, levels: levelsOf(levels), modelHash, naiveLast, naiveSigma, origin, q, source };
}

export function fastOutcome(line: string): OutcomeFields | null {
  const c = new Cursor(line);
  const at = c.number('at');
  const instrument = c.string('instrument');
  const seq = c.number('seq');
  const value = c.number('value');
  if (!c.ok || instrument === null) return null;
  return { seq, at, instrument, value };
}

/** The same fields from a parsed entry (the slow path), or null when they are not there. */
export function forecastFrom(e: Record<string, unknown>): ForecastFields | null {
  const naive = e.naive as { last?: unknown; sigma?: unknown } | null;
  if (typeof e.instrument !== 'string' || typeof e.q !== 'string' || !Array.isArray(e.levels)) return null;
  return {
    seq: e.seq as number,
    auditId: typeof e.auditId === 'string' ? e.auditId : null,
    horizon: e.horizon as number,
    instrument: e.instrument,
    // The cached array for these levels, as the fast path gives (scorers key their caches on it).
    levels: e.levels.every((l) => typeof l === 'number' && Number.isFinite(l)) ? levelsOf(`[${e.levels.join(',')}]`) : (e.levels as number[]),
    modelHash: typeof e.modelHash === 'string' ? e.modelHash : null,
    naiveLast: typeof naive?.last === 'number' ? naive.last : NaN,
    naiveSigma: typeof naive?.sigma === 'number' ? naive.sigma : NaN,
    origin: e.origin as number,
    q: e.q,
    source: e.source as string,
  };
}

export function outcomeFrom(e: Record<string, unknown>): OutcomeFields | null {
  if (typeof e.instrument !== 'string' || typeof e.at !== 'number' || typeof e.value !== 'number') return null;
  return { seq: e.seq as number, at: e.at, instrument: e.instrument, value: e.value };
}
