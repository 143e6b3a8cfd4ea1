/** The adversarial safety suite (SPEC section 7): corpus, broken models, checks, runner, report. */
export { buildCorpus, CATEGORIES, CATEGORY_LABELS, type Category, type GuardianVariant, type SafetyCase } from './corpus';
export { prepareModels, GENERATED_MODELS, FIXTURE_NAMES, type PreparedModels } from './models';
export {
  runSafetyReport,
  formatSafetyReport,
  type SafetyReport,
  type SafetyReportOptions,
  type CaseResult,
  type PathOutcome,
  type CategorySummary,
} from './runner';
export { referenceOf, inputHazards, naiveTensor, silentChanges, forecastProblems, PRECISION_TOLERANCE, PLAUSIBLE_RANGES } from './checks';
