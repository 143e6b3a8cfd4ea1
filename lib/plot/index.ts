/** Dependency-free SVG charts: the forecast fan, the evaluation report, the safety summary. */
export { SvgDocument, escapeXml, fmt, linePath, bandPath, type Attrs, type AttrValue } from './svg';
export { niceStep, niceTicks, stepDecimals, tickLabel, linearScale, type Ticks } from './axis';
export { fanChartSvg, FAN_BANDS, type FanChartInput } from './fan-chart';
export { evaluationSvg, WQL_RATIO_CAP, type EvaluationChartOptions } from './evaluation-chart';
export { safetySummarySvg } from './safety-chart';
export { svgPathProblem, writeSvgFile } from './write';
