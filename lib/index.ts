export { ErrorCode, hasCode, type CodedError, type ErrorCodeValue } from './errors';
export { runtimeInfo, resolveRuntimeLibrary, type RuntimeInfo } from './native/runtime';
export { stagingBuffer } from './native/staging';
export {
  scan,
  scanBatch,
  scanInto,
  scanBuffer,
  readScan,
  SCAN_STRIDE,
  ScanField,
  type ScanStats,
  type ScanOptions,
} from './kernels/scan';
export { assessSeriesInto, assessSpansInto, ASSESS_STRIDE, AssessField, RECENT_WINDOW, SHIFT_TAIL } from './kernels/assess';
export {
  checkForecastInto,
  checkForecastRowsInto,
  ForecastCheckIO,
  ForecastRowsIO,
  FORECAST_ROW_STRIDE,
  ForecastRow,
  ANCHOR_STRIDE,
  FORECAST_REPORT_LENGTH,
  ForecastReport,
  type ForecastCheckShape,
} from './kernels/forecast-check';
export { computeScaling, applyScaling, invertScaling } from './kernels/scaling';
export { impute, type ImputeMethod, type ImputeResult } from './kernels/impute';
export { convertF64ToF32, convertF64ToF32Into, CONVERT_REPORT_STRIDE, type ConvertReport } from './kernels/convert';
export {
  repairQuantiles,
  repairQuantilesInto,
  checkMean,
  type QuantileRepairReport,
  type CheckMeanOptions,
} from './kernels/quantiles';
export { cpuFeatures, setSimd, type CpuFeatures } from './kernels/cpu';
export type { FloatArray } from './kernels/validate';
export { readCsvColumn, splitCsvLine, type CsvColumn } from './data/csv';
export {
  loadManifest,
  validateManifest,
  type ModelManifest,
  type LoadedManifest,
  type TensorSpec,
} from './model/manifest';
export { ModelSession, type SessionOptions, type RunOptions, type GraphTensor } from './model/session';
export { rollout, rolloutSync, planRollout, type RolloutPlan } from './model/rollout';
export { TiRexGuardian, type GuardianConfig, type ForecastRequest, type ForecastResult, type ForecastStatus, type SeriesOutcome, type ShieldActivation } from './guardian/guardian';
export { INPUT_THRESHOLDS, OUTPUT_THRESHOLDS, PIPELINE_THRESHOLDS, PROFILES, REQUEST_LIMITS } from './guardian/thresholds';
export { productionGateFailures, checkProductionGates, type GateFailure } from './guardian/gates';
export type { StatsSnapshot } from './guardian/stats';
export { LATENCY_BOUNDS_S, type LatencySummary } from './guardian/latency';
export { BREAKER_STATE_VALUE, METRIC_PREFIX, type GuardianMetricsOptions } from './observability/metrics';
export { FORECAST_SPAN, MODEL_SPAN, TRACER_NAME } from './observability/tracing';
export { fanChartSvg, evaluationSvg, safetySummarySvg, type FanChartInput } from './plot';
export {
  RegimeEngine,
  registerRegimeMetrics,
  resolveRegimeConfig,
  DEFAULT_SIZE_FACTORS,
  SIZE_FACTOR_BOUNDS,
  type Bar,
  type RegimeConfig,
  type RegimeSnapshot,
  type RegimeStats,
  type SizeFactors,
} from './regime';
export { REGIME_BOUND_FACTORS, type RegimeSource } from './guardian/regime-use';
export * from './fallback';
export * from './breaker';
export {
  AuditLog,
  verifyAuditLog,
  verifyAuditDir,
  formatAuditReport,
  queryAuditLog,
  AuditHandoff,
  type AuditVerifyReport,
  type AuditDurability,
  type AuditLogOptions,
  type AuditQuery,
} from './audit';
export { runPreflight, runPreflightSync, type PreflightOptions, type PreflightReport, type PreflightStatus, type SourceReport } from './security/preflight';
export type { Finding, AdvisoryRef, AllowlistUse } from './security/findings';
export { type SecurityPreflightConfig } from './guardian/types';
export { appendRunEvent, verifyRunAudit, type RunEvent, type RunAuditLine } from './evidence/run-audit';
export { writeArtifact, listArtifacts, type ArtifactKind } from './evidence/artifacts';
export { recordPreflight } from './evidence/preflight-evidence';
// Proving a model before it goes live (README): the forecast journal, its scores, shadow mode's
// statistics, and the forecast-quality gate.
export { ForecastJournal, type ForecastJournalOptions, type ForecastJournalStats, type PendingForecast } from './journal/journal';
export { scoreJournal, type JournalScoreReport, type InstrumentScore, type ModelScore, type ScoreQuery } from './journal/score';
export type { ForecastSource } from './journal/entries';
export type { GroupReport, Scores as JournalScores } from './journal/score-book';
export type { JournalConfig, ShadowConfig, ForecastGateConfig } from './guardian/types';
export type { QualityStats } from './guardian/quality-use';
export type { ShadowStats } from './guardian/shadow';
export { evaluateGate, type GateOptions, type GateResult } from './gate/forecast-gate';
export { decideGate, DEFAULT_GATE_THRESHOLDS, type GateThresholds, type GateEvidence, type GateDecision, type GateCheck, type EvidenceKind } from './gate/decision';
