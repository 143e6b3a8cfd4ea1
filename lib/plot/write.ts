/**
 * Writing a chart: only to a path ending in .svg, and atomically (lib/atomic-file.ts), so that a
 * reader never sees half a picture and a failed write leaves the old one.
 */
import * as path from 'node:path';

import { writeFileAtomic } from '../atomic-file';

/** Why `file` cannot take a chart, or null when it can (a name ending in .svg). */
export function svgPathProblem(file: string): string | null {
  if (!/\.svg$/i.test(file) || path.basename(file).length <= 4) return `the chart is SVG: the file name must end in .svg, got ${JSON.stringify(file)}`;
  return null;
}

/** Writes `svg` to `file`, whole or not at all. */
export function writeSvgFile(file: string, svg: string): void {
  const problem = svgPathProblem(file);
  if (problem !== null) throw new Error(problem);
  writeFileAtomic(file, svg);
}
