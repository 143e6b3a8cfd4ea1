/**
 * The model manifest (SPEC section 2): the JSON beside every .onnx that states its contract.
 * Validated against models/manifest.schema.json (ajv), then for consistency between fields.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import Ajv from 'ajv';

import { codedError, ErrorCode } from '../errors';
import { packageRoot } from '../native/addon';

export interface TensorSpec {
  name: string;
  dtype: 'float32';
  shape: (string | number)[];
}

export interface ModelManifest {
  schemaVersion: 1;
  name: string;
  version: string;
  /** The model file, beside the manifest. */
  file: string;
  /** sha256 of the model file, lowercase hex. */
  sha256: string;
  inputs: [TensorSpec];
  outputs: [TensorSpec];
  quantileLevels: number[];
  medianIndex: number;
  patchLength: number;
  maxContext: number;
  minContext: number;
  /** The longest horizon the model can roll out honestly; longer requests are refused. */
  maxHorizon: number;
  /** `masked`: NaN allowed, handled inside the model; `impute`: the library must fill gaps. */
  nanHandling: 'masked' | 'impute';
  /** `internal`: the model scales; `standard`: the library applies TiRex's scaling around it. */
  scaling: 'internal' | 'standard';
  provenance: Record<string, unknown>;
  evaluation?: Record<string, unknown> | null;
}

/** A manifest with the absolute path of its model file. */
export interface LoadedManifest extends ModelManifest {
  modelPath: string;
  manifestPath: string;
}

let validator: ReturnType<Ajv['compile']> | undefined;

function validateSchema(value: unknown): string[] {
  if (!validator) {
    const schema = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'models', 'manifest.schema.json'), 'utf8'));
    validator = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  if (validator(value)) return [];
  return (validator.errors ?? []).map((e) => {
    const extra = (e.params as { additionalProperty?: string }).additionalProperty;
    return `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}${extra ? `: "${extra}"` : ''}`;
  });
}

/** Consistency rules the schema cannot express. */
function checkConsistency(m: ModelManifest): string[] {
  const problems: string[] = [];
  const levels = m.quantileLevels;
  for (let i = 1; i < levels.length; i++) {
    if (!(levels[i]! > levels[i - 1]!)) problems.push(`quantileLevels must increase strictly (index ${i})`);
  }
  if (m.medianIndex >= levels.length || levels[m.medianIndex] !== 0.5) {
    problems.push(`medianIndex ${m.medianIndex} must point at the level 0.5`);
  }
  const out = m.outputs[0].shape;
  if (out[1] !== m.patchLength) problems.push(`outputs[0].shape[1] (${out[1]}) must equal patchLength (${m.patchLength})`);
  if (out[2] !== levels.length) problems.push(`outputs[0].shape[2] (${out[2]}) must equal the number of quantile levels (${levels.length})`);
  if (m.minContext > m.maxContext) problems.push(`minContext (${m.minContext}) must not exceed maxContext (${m.maxContext})`);
  return problems;
}

/** Validates a parsed manifest; throws TG_MANIFEST_INVALID listing every problem. */
export function validateManifest(value: unknown, source = 'manifest'): ModelManifest {
  const schemaProblems = validateSchema(value);
  const problems = schemaProblems.length ? schemaProblems : checkConsistency(value as ModelManifest);
  if (problems.length) {
    throw codedError(ErrorCode.ManifestInvalid, `${source} is not a valid model manifest:\n  - ${problems.join('\n  - ')}`);
  }
  return value as ModelManifest;
}

/** Reads and validates `<model>.json`; the model file is resolved beside it. */
export function loadManifest(manifestPath: string): LoadedManifest {
  const abs = path.resolve(manifestPath);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (err) {
    throw codedError(ErrorCode.ManifestInvalid, `cannot read the manifest ${abs}: ${(err as Error).message}`, err);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw codedError(ErrorCode.ManifestInvalid, `${abs} is not JSON: ${(err as Error).message}`, err);
  }
  const m = validateManifest(parsed, abs);
  return { ...m, manifestPath: abs, modelPath: path.join(path.dirname(abs), m.file) };
}
