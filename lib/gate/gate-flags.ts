/** The gate command's flags and usage (read by lib/cli.ts without loading the gate itself). */
import type { GateThresholds } from './decision';

export const THRESHOLD_FLAGS: Record<string, keyof GateThresholds> = {
  'min-origins': 'minOrigins',
  'min-days': 'minDays',
  'max-wql-ratio': 'maxWqlRatio',
  'max-mase-ratio': 'maxMaseRatio',
  'min-coverage': 'minCoverage',
  'max-coverage': 'maxCoverage',
};

export const GATE_FLAGS = {
  model: 'string',
  journal: 'string',
  audit: 'string',
  source: 'string',
  backtest: 'boolean',
  horizon: 'string',
  origins: 'string',
  'held-out': 'string',
  from: 'string',
  to: 'string',
  instrument: 'string',
  'exclude-thin': 'boolean',
  'evidence-dir': 'string',
  'public-key-file': 'string',
  'signing-key-file': 'string',
  json: 'boolean',
  ...Object.fromEntries(Object.keys(THRESHOLD_FLAGS).map((k) => [k, 'string'])),
} as const;

export const GATE_USAGE =
  'usage: tirex-guardian gate --model SHA256|MANIFEST (--journal DIR --audit LOG [--source model|shadow] | --backtest FILE...)\n' +
  '         [--from T] [--to T] [--instrument A,B] [--horizon N] [--origins N] [--held-out F] [--exclude-thin]\n' +
  '         [--min-origins N] [--min-days N] [--max-wql-ratio X] [--max-mase-ratio X] [--min-coverage X] [--max-coverage X]\n' +
  '         [--evidence-dir DIR] [--public-key-file PEM | --signing-key-file K] [--json]\n' +
  '         (exit 0 PASS, 1 FAIL, 3 evidence unreadable; HMAC key: the file, else $TG_AUDIT_SIGNING_KEY)';
