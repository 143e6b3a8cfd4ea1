/**
 * The guardian's forecast-quality options, checked like the rest of its configuration
 * (config-fields.ts): the forecast journal, the shadow candidate, and the requirement of a
 * passing forecast-quality gate artifact for the model it loads.
 */
import { KeyObject } from 'node:crypto';
import * as path from 'node:path';

import type { HandoffFullPolicy } from '../audit/handoff';
import type { SessionOptions } from '../model/session';
import { bool, fail, fieldsOf, int, oneOf, shown, text, type Fields } from './config-fields';
import type { ForecastGateConfig, JournalConfig, ShadowConfig } from './types';

const JOURNAL_KEYS = ['dir', 'durability', 'segmentBytes', 'segmentMs', 'signingKey', 'handoffLimit', 'onHandoffFull'] as const satisfies readonly (keyof JournalConfig)[];
const SHADOW_KEYS = ['model', 'modelSha256', 'queueLimit', 'session'] as const satisfies readonly (keyof ShadowConfig)[];
const GATE_KEYS = ['required', 'maxArtifactAgeHours', 'evidence'] as const satisfies readonly (keyof ForecastGateConfig)[];
type Unlisted =
  | Exclude<keyof JournalConfig, (typeof JOURNAL_KEYS)[number]>
  | Exclude<keyof ShadowConfig, (typeof SHADOW_KEYS)[number]>
  | Exclude<keyof ForecastGateConfig, (typeof GATE_KEYS)[number]>;
const everyKeyListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyKeyListed;

export const EVIDENCE_KINDS = ['live', 'shadow', 'backtest'] as const;

export interface ResolvedJournalConfig {
  dir: string;
  durability: 'none' | 'batched' | 'fsync';
  segmentBytes: number | undefined;
  segmentMs: number | undefined;
  /** The journal's key, else the audit's (resolved by the guardian). */
  signingKey: string | KeyObject | undefined;
  handoffLimit: number;
  onHandoffFull: HandoffFullPolicy;
}

export interface ResolvedQualityConfig {
  journal: Readonly<ResolvedJournalConfig> | null;
  shadow: Readonly<{ model: string; modelSha256: string | undefined; queueLimit: number; session: SessionOptions | undefined }> | null;
  gate: Readonly<{ required: boolean; maxArtifactAgeMs: number; evidence: readonly (typeof EVIDENCE_KINDS)[number][] }>;
}

function resolveJournal(value: unknown): ResolvedJournalConfig | null {
  if (value === undefined) return null;
  const f = fieldsOf(value, 'journal', JOURNAL_KEYS);
  const dir = text(f, 'dir', 'journal.dir');
  if (dir === undefined) throw fail('journal.dir', 'is required: the directory the journal writes to');
  const key = f.get('signingKey');
  if (key !== undefined && !((typeof key === 'string' && key !== '') || key instanceof KeyObject)) {
    throw fail('journal.signingKey', `must be a string (an HMAC secret of 32+ bytes, or an Ed25519 private key PEM) or a private KeyObject, got ${shown(key)}`);
  }
  return {
    dir: path.resolve(dir),
    durability: oneOf(f, 'durability', 'journal.durability', ['none', 'batched', 'fsync'] as const) ?? 'fsync',
    segmentBytes: int(f, 'segmentBytes', 'journal.segmentBytes', 1, Number.MAX_SAFE_INTEGER),
    segmentMs: int(f, 'segmentMs', 'journal.segmentMs', 0, Number.MAX_SAFE_INTEGER),
    signingKey: key as string | KeyObject | undefined,
    handoffLimit: int(f, 'handoffLimit', 'journal.handoffLimit', 1, 1 << 20) ?? 4096,
    onHandoffFull: oneOf(f, 'onHandoffFull', 'journal.onHandoffFull', ['block', 'drop'] as const) ?? 'block',
  };
}

function resolveShadow(value: unknown, journal: boolean): ResolvedQualityConfig['shadow'] {
  if (value === undefined) return null;
  const f = fieldsOf(value, 'shadow', SHADOW_KEYS);
  const model = text(f, 'model', 'shadow.model');
  if (model === undefined) throw fail('shadow.model', "is required: the candidate's manifest");
  if (!journal) throw fail('shadow', 'needs journal: a shadow forecast is journaled, never served; without a journal it would be lost');
  const sha = f.get('modelSha256');
  if (sha !== undefined && (typeof sha !== 'string' || !/^[0-9a-f]{64}$/.test(sha))) throw fail('shadow.modelSha256', `must be 64 lowercase hex digits, got ${shown(sha)}`);
  const session = f.get('session');
  if (session !== undefined && (session === null || typeof session !== 'object')) throw fail('shadow.session', `must be an object, got ${shown(session)}`);
  return Object.freeze({
    model: path.resolve(model),
    modelSha256: sha as string | undefined,
    queueLimit: int(f, 'queueLimit', 'shadow.queueLimit', 1, 4096) ?? 8,
    session: session as SessionOptions | undefined,
  });
}

function resolveGate(value: unknown): ResolvedQualityConfig['gate'] {
  const f: Fields = value === undefined ? new Map() : fieldsOf(value, 'forecastGate', GATE_KEYS);
  const kinds = f.get('evidence');
  if (kinds !== undefined && (!Array.isArray(kinds) || kinds.length === 0 || kinds.some((k) => !(EVIDENCE_KINDS as readonly unknown[]).includes(k)))) {
    throw fail('forecastGate.evidence', `must be a non-empty array of ${EVIDENCE_KINDS.map((k) => `'${k}'`).join(', ')}, got ${shown(kinds)}`);
  }
  return Object.freeze({
    required: bool(f, 'required', 'forecastGate.required') ?? false,
    maxArtifactAgeMs: (int(f, 'maxArtifactAgeHours', 'forecastGate.maxArtifactAgeHours', 1, 24 * 366) ?? 168) * 3_600_000,
    evidence: Object.freeze([...((kinds as (typeof EVIDENCE_KINDS)[number][] | undefined) ?? EVIDENCE_KINDS)]),
  });
}

export function resolveQuality(f: Fields): ResolvedQualityConfig {
  const journal = resolveJournal(f.get('journal'));
  return Object.freeze({
    journal: journal === null ? null : Object.freeze(journal),
    shadow: resolveShadow(f.get('shadow'), journal !== null),
    gate: resolveGate(f.get('forecastGate')),
  });
}
