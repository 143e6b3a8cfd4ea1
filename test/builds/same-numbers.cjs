'use strict';
// Runs on any architecture, in plain Node: the kernels on a fixed battery of inputs (NaN, +-Inf,
// -0, subnormals, huge values, lengths 0 to 3, views at odd offsets, seeded random rows) and a
// guarded forecast of the shipped model, written as JSON (float64 results as their bits) for
// scripts/test-arm64.js to compare across architectures and scripts/compare-builds.js across
// builds of one architecture. Loads the addon node-gyp-build picks, or TG_ADDON_PATH.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const t = require(path.join(ROOT, 'dist', 'cjs', 'index.js'));

const bits = (v) => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return b.toString('hex');
};
const f64 = (arr) => Array.from(arr, bits);

// A fixed pseudo-random sequence (xorshift32): the same rows on every machine.
let state = 0x9e3779b9;
function random() {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 2 ** 32;
}

const SPECIAL = [NaN, Infinity, -Infinity, -0, 0, 5e-324, -5e-324, 2.2250738585072e-308, 1e308, -1e308, 3.4e38, 1e-45, 1, -1];
function battery() {
  const rows = [[], [1], [NaN, 2], [-0, Infinity, 3]];
  for (const v of SPECIAL) rows.push([v, 1, v, 2, v]);
  for (let n = 1; n <= 300; n += 37) {
    const row = [];
    let x = 100;
    for (let i = 0; i < n; i++) {
      x += (random() - 0.5) * 2;
      const r = random();
      row.push(r < 0.03 ? NaN : r < 0.04 ? SPECIAL[Math.floor(random() * SPECIAL.length)] : x);
    }
    rows.push(row);
  }
  return rows;
}

/** A view of `values` at an odd byte offset inside a larger buffer (unaligned for the element type). */
function unaligned(Type, values) {
  const buf = new ArrayBuffer((values.length + 2) * Type.BYTES_PER_ELEMENT + Type.BYTES_PER_ELEMENT);
  const view = new Type(buf, Type.BYTES_PER_ELEMENT, values.length);
  view.set(values);
  return view;
}

function kernels() {
  const out = [];
  for (const row of battery()) {
    for (const Type of [Float64Array, Float32Array]) {
      const x = unaligned(Type, row);
      const s = t.scan(x, { lo: -1e6, hi: 1e6 });
      const ls = t.computeScaling(x);
      const scaled = t.applyScaling(x, ls);
      const ffill = Type.from(x);
      const linear = Type.from(x);
      const filled = [t.impute(ffill, 'ffill'), t.impute(linear, 'linear')];
      out.push({ n: row.length, type: Type.name, scan: Object.fromEntries(Object.entries(s).map(([k, v]) => [k, bits(v)])), locScale: f64(ls), scaled: f64(scaled), ffill: f64(ffill), linear: f64(linear), filled });
    }
    const c = t.convertF64ToF32(Float64Array.from(row));
    out.push({ n: row.length, convert: f64(c.output), reports: c.reports.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, bits(v)]))) });
  }
  const q = new Float32Array(32 * 9);
  for (let i = 0; i < q.length; i++) q[i] = random() < 0.02 ? NaN : (random() - 0.5) * 10;
  const rep = t.repairQuantiles(q, 32, 9);
  out.push({ repaired: f64(q), report: Object.fromEntries(Object.entries(rep).map(([k, v]) => [k, typeof v === 'number' ? bits(v) : v])) });
  return out;
}

function forecast() {
  const brent = t.readCsvColumn(path.join(ROOT, 'data', 'brent-daily.csv'), 'Price').values;
  const g = new t.TiRexGuardian({ session: { intraOpThreads: 1 }, marketBounds: { BRENT: { lo: 0, hi: 500 } } });
  const r = g.safeForecast({ context: Float64Array.from(brent.subarray(brent.length - 2048)), predictionLength: 64, userId: 'arm64-check', instrument: 'BRENT' });
  g.close();
  return { status: r.status, shields: r.shields.map((s) => s.action), quantiles: Array.from(r.quantiles) };
}

const result = { arch: process.arch, node: process.version, simd: t.cpuFeatures().simd, ort: t.runtimeInfo().version, kernels: kernels(), forecast: forecast() };
fs.writeFileSync(process.argv[2], JSON.stringify(result));
console.log(`${process.arch}: ${result.kernels.length} kernel cases, forecast ${result.forecast.status} (${result.forecast.quantiles.length} quantiles), SIMD ${result.simd}, ONNX Runtime ${result.ort}`);
