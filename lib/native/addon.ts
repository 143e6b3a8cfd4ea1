/**
 * The one loader of the native addon: a local build in build/Release or a prebuild under
 * prebuilds/<platform>-<arch>/ (node-gyp-build tries them in that order), unless $TG_ADDON_PATH
 * names another build.
 * Loaded on first use, so importing the package never fails; a failure says exactly what to do.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { codedError, ErrorCode } from '../errors';

/** The addon's raw exports (see native/addon.cc). Call through lib/kernels, which validates. */
export interface NativeAddon {
  readonly ortApiVersion: number;
  /** The session class (see lib/model/session.ts for its typed wrapper). */
  readonly NativeSession: unknown;
  scan(data: Float32Array | Float64Array, rows: number, lo: number, hi: number, out: Float64Array): void;
  assessSeries(data: Float32Array | Float64Array, rows: number, lo: number, hi: number, out: Float64Array): void;
  /** spans: [start, length] per row, each inside data. */
  assessSpans(data: Float32Array | Float64Array, spans: Float64Array, lo: number, hi: number, out: Float64Array): void;
  computeScaling(data: Float32Array | Float64Array, rows: number, locScale: Float64Array): void;
  applyScaling<T extends Float32Array | Float64Array>(src: T, rows: number, locScale: Float64Array, dst: T): void;
  invertScaling<T extends Float32Array | Float64Array>(src: T, rows: number, locScale: Float64Array, dst: T): void;
  convertF64ToF32(src: Float64Array, rows: number, dst: Float32Array, report: Float64Array): void;
  impute<T extends Float32Array | Float64Array>(src: T, rows: number, method: number, dst: T): {
    filled: number;
    emptyRows: number;
  };
  repairQuantiles(q: Float32Array, steps: number, levels: number, report: Float64Array): void;
  checkMean(
    mean: Float32Array,
    q: Float32Array,
    steps: number,
    levels: number,
    medianIndex: number,
    maxDeviation: number,
    replace: boolean,
  ): number;
  /** io: [batch, horizon, levels, medianIndex, k, clamp, -, -, report x 8, anchors x 4 per series]. */
  checkForecast(q: Float32Array, mean: Float32Array | null, io: Float64Array): void;
  /** io: the header of checkForecast, then per series [last, sigma, min, max, k, report x 8]. */
  checkForecastRows(q: Float32Array, mean: Float32Array | null, io: Float64Array): void;
  /** Addon-owned memory lent as an ArrayBuffer (async runs use it in place), or null where the
   * runtime forbids external buffers. */
  allocStaging(bytes: number): ArrayBuffer | null;
  /** sha256_hex(prevHash + body) (UTF-8), or null when no SHA-256 is found in the process. */
  chainHash(prevHash: string, body: string): string | null;
  cpuFeatures(): { avx2: boolean; simd: boolean };
  setSimd(enabled: boolean): boolean;
  loadRuntime(libraryPath: string): NativeRuntimeInfo;
  runtimeInfo(): NativeRuntimeInfo | null;
}

export interface NativeRuntimeInfo {
  path: string;
  version: string;
  apiVersion: number;
  providers: string[];
}

let cached: NativeAddon | undefined;

/** The directory holding this package's package.json (works from lib/ sources and from dist/). */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        if (JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'tirex-guardian') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw codedError(ErrorCode.AddonLoadFailed, `cannot find tirex-guardian's package.json above ${__dirname}`);
    dir = parent;
  }
}

export function addon(): NativeAddon {
  return cached ?? (cached = load());
}

/**
 * The addon file that `addon()` loads: `$TG_ADDON_PATH` when set (another build of the same
 * sources, e.g. the sanitizer build of `npm run test:sanitize`; child processes inherit it), else
 * what node-gyp-build finds (build/Release, then build/Debug, then a prebuild).
 */
export function addonFile(): string {
  const override = process.env.TG_ADDON_PATH;
  if (override) return path.resolve(override);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeGypBuild = require('node-gyp-build') as { path(dir: string): string };
  return nodeGypBuild.path(packageRoot());
}

function load(): NativeAddon {
  const override = process.env.TG_ADDON_PATH;
  if (override) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(path.resolve(override)) as NativeAddon;
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      throw codedError(ErrorCode.AddonLoadFailed, `tirex-guardian: cannot load the addon TG_ADDON_PATH names (${override}): ${detail}`, err);
    }
  }
  const root = packageRoot();
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    return nodeGypBuild(root) as NativeAddon;
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw codedError(
      ErrorCode.AddonLoadFailed,
      `tirex-guardian: cannot load its native addon for ${process.platform}-${process.arch} (Node ${process.version}, ` +
        `N-API ${process.versions.napi}).\n` +
        `  looked in: ${path.join(root, 'prebuilds', `${process.platform}-${process.arch}`)} and ${path.join(root, 'build', 'Release')}\n` +
        `  cause: ${detail}\n` +
        `  to fix: run \`npm rebuild tirex-guardian\` (or \`npm run build:native\` in a clone). Building needs cmake >= 3.15, ` +
        `a C++17 compiler and the ONNX Runtime C headers, which scripts/ort-headers.js fetches from Debian's archive ` +
        `or takes from ORT_INCLUDE_DIR.`,
      err,
    );
  }
}
