/**
 * What ran, for the evidence: this package's version, Node.js, ONNX Runtime (when the addon and
 * the library load; otherwise why not), the platform, and the model (manifest, the sha256 it pins,
 * and who signed it, or why the signature does not hold).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { loadManifest } from '../model/manifest';
import { loadTrustedKeys, verifyModelSignature } from '../model/signature';
import { packageRoot } from '../native/addon';
import { runtimeInfo } from '../native/runtime';

export interface EvidenceVersions {
  readonly package: string;
  readonly node: string;
  readonly onnxRuntime: string | null;
  readonly onnxRuntimeError: string | null;
  readonly platform: string;
  readonly model: {
    readonly manifest: string;
    readonly name: string;
    readonly sha256: string;
    /** The trusted key that signed the manifest, or null. */
    readonly signer: string | null;
    /** 'valid', or the refusal's code and message. */
    readonly signature: string;
  } | null;
}

export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

function modelOf(manifest: string, trustedKeysFile: string): EvidenceVersions['model'] {
  const m = loadManifest(manifest);
  let signer: string | null = null;
  let signature = 'valid';
  try {
    signer = verifyModelSignature(m.manifestPath, loadTrustedKeys(trustedKeysFile)).keyId;
  } catch (err) {
    signature = `${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`;
  }
  return { manifest: m.manifestPath, name: m.name, sha256: m.sha256, signer, signature };
}

export function evidenceVersions(model: { manifest: string; trustedKeysFile: string } | null = null): EvidenceVersions {
  let onnxRuntime: string | null = null;
  let onnxRuntimeError: string | null = null;
  try {
    onnxRuntime = runtimeInfo().version;
  } catch (err) {
    onnxRuntimeError = `${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`;
  }
  let m: EvidenceVersions['model'] = null;
  if (model !== null) {
    try {
      m = modelOf(model.manifest, model.trustedKeysFile);
    } catch (err) {
      m = { manifest: path.resolve(model.manifest), name: '', sha256: '', signer: null, signature: `${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}` };
    }
  }
  return { package: packageVersion(), node: process.version, onnxRuntime, onnxRuntimeError, platform: `${process.platform}-${process.arch}`, model: m };
}
