/**
 * ONNX Runtime's shared library: found here, opened by the addon (native/ort/runtime.cc).
 * Order: ORT_LIB_DIR, then the copy that the onnxruntime-node package ships.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { codedError, ErrorCode } from '../errors';
import { addon, packageRoot } from './addon';

export interface RuntimeInfo {
  /** The library file in use. */
  path: string;
  /** ONNX Runtime's own version string, e.g. "1.30.0". */
  version: string;
  /** The C API version the addon was compiled against. */
  apiVersion: number;
  /** Execution providers compiled into this library (ORT's GetAvailableProviders). Whether one can
   * actually start (e.g. CUDA needs its libraries and a GPU) is only known when a session asks. */
  providers: string[];
}

function libraryNames(): string[] {
  if (process.platform === 'darwin') return ['libonnxruntime.dylib', 'libonnxruntime.1.dylib'];
  if (process.platform === 'win32') return ['onnxruntime.dll'];
  return ['libonnxruntime.so.1', 'libonnxruntime.so'];
}

/** Candidate library paths, in the order they are tried. */
export function runtimeLibraryCandidates(): string[] {
  const out: string[] = [];
  const dir = process.env.ORT_LIB_DIR;
  if (dir) for (const name of libraryNames()) out.push(path.resolve(dir, name));
  try {
    const pkg = path.dirname(require.resolve('onnxruntime-node/package.json', { paths: [packageRoot()] }));
    const binDir = path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
    for (const name of libraryNames()) out.push(path.join(binDir, name));
  } catch {
    // onnxruntime-node is not installed: only ORT_LIB_DIR can help
  }
  return out;
}

export function resolveRuntimeLibrary(): string {
  const candidates = runtimeLibraryCandidates();
  const found = candidates.find((p) => fs.existsSync(p));
  if (found) return found;
  throw codedError(
    ErrorCode.OrtNotFound,
    `tirex-guardian: cannot find the ONNX Runtime library. Tried: ${candidates.join(', ') || '(nothing)'}.\n` +
      `  to fix: install the onnxruntime-node package (a dependency of tirex-guardian), or set ORT_LIB_DIR to a ` +
      `directory holding ${libraryNames()[0]} (ONNX Runtime >= 1.21).`,
  );
}

/** Opens ONNX Runtime (once per process) and reports its version and providers. */
export function runtimeInfo(): RuntimeInfo {
  const native = addon();
  return native.runtimeInfo() ?? native.loadRuntime(resolveRuntimeLibrary());
}
