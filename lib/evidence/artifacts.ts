/**
 * Evidence artifacts (seed 003, section 6): every preflight and every startup-gate decision
 * leaves a JSON file in the evidence directory, written atomically, and a run audit line that
 * names it with its sha256 (run-audit.ts):
 *
 *     <evidence>/security/security_preflight_<utc>_<pid>_<rand>.json
 *     <evidence>/audit_gate/startup_gate_<utc>_<pid>_<rand>.json
 *     <evidence>/run_audit/<YYYY-MM-DD>.jsonl
 *
 * Names sort by time (the UTC stamp first), so the newest is the last. `startup_gate` is the
 * decision of the fail-closed gates at a start (production, or a preflight asked for elsewhere);
 * `production_gate` (seed 003's name) is the forecast-quality gate's decision on a model
 * (lib/gate), written as `<evidence>/audit_gate/production_gate_<utc>_<pid>_<rand>.json`.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { makeDirs, writeFileAtomic } from '../atomic-file';
import { sha256Hex } from '../audit/chain';
import { codedError, ErrorCode } from '../errors';
import { appendRunEvent, dayFiles, RUN_AUDIT_DIR, type RunAuditLine, type RunEvent } from './run-audit';

export const ARTIFACT_KINDS = {
  security_preflight: 'security',
  startup_gate: 'audit_gate',
  production_gate: 'audit_gate',
} as const;
export type ArtifactKind = keyof typeof ARTIFACT_KINDS;

const stampOf = (time: Date): string => time.toISOString().replace(/[:.]/g, '-');

export interface WrittenArtifact {
  /** Absolute path. */
  readonly path: string;
  /** Relative to the evidence directory. */
  readonly file: string;
  readonly sha256: string;
  readonly runAudit: RunAuditLine;
}

/** Writes `body` as the artifact of `kind` and appends its run audit line. */
export function writeArtifact(dir: string, kind: ArtifactKind, body: object, event: Omit<RunEvent, 'artifact'>, time: Date = new Date()): WrittenArtifact {
  const file = path.posix.join(ARTIFACT_KINDS[kind], `${kind}_${stampOf(time)}_${process.pid}_${randomBytes(3).toString('hex')}.json`);
  const abs = path.join(dir, file);
  const text = `${JSON.stringify(body, null, 2)}\n`;
  try {
    makeDirs(path.dirname(abs));
    writeFileAtomic(abs, text);
  } catch (err) {
    throw codedError(ErrorCode.EvidenceWriteFailed, `cannot write the evidence artifact ${abs}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  }
  const sha256 = sha256Hex(text);
  const runAudit = appendRunEvent(dir, { ...event, artifact: { file, sha256 } }, time);
  return { path: abs, file, sha256, runAudit };
}

/** The artifacts of `kind`, newest first (at most `limit`), as paths relative to `dir`. */
export function listArtifacts(dir: string, kind: ArtifactKind, limit = 50): string[] {
  const sub = ARTIFACT_KINDS[kind];
  let names: string[];
  try {
    names = fs.readdirSync(path.join(dir, sub));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(`${kind}_`) && n.endsWith('.json'))
    .sort()
    .reverse()
    .slice(0, limit)
    .map((n) => path.posix.join(sub, n));
}

/** The artifacts of `kind` that parse, newest first, with their text's sha256 (what the run
 * audit names them by). One that cannot be read or parsed is passed over. */
export function* readArtifacts(dir: string, kind: ArtifactKind, limit = 50): Generator<{ file: string; body: unknown; sha256: string }> {
  for (const file of listArtifacts(dir, kind, limit)) {
    let text: string;
    let body: unknown;
    try {
      text = fs.readFileSync(path.join(dir, file), 'utf8');
      body = JSON.parse(text);
    } catch {
      continue;
    }
    yield { file, body, sha256: sha256Hex(text) };
  }
}

/** True when the run audit names `file` with this sha256: the artifact is the one written. */
export function namedInRunAudit(dir: string, file: string, sha256: string, day: string): boolean {
  // The artifact's line is in its own day's file, or the next one when it was written at midnight.
  const files = dayFiles(dir).filter((f) => f >= `${day}.jsonl`).slice(0, 2);
  const needle = `"artifact":{"file":${JSON.stringify(file)},"sha256":"${sha256}"}`;
  return files.some((f) => fs.readFileSync(path.join(dir, RUN_AUDIT_DIR, f), 'utf8').includes(needle));
}
