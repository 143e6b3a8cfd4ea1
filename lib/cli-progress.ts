/**
 * Progress on a terminal: one line rewritten in place with '\r', at most one update per
 * intervalMs (100 ms: ten a second), cleared by end(). On a stream that is not a terminal (a pipe,
 * a file, a test) it writes nothing at all.
 */

/** The part of a stream the reporter needs (process.stderr, or any writable with isTTY set). */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): unknown;
}

/** What long-running work calls: `done` of `total` units finished, `label` the current item. */
export type ProgressCallback = (done: number, total: number, label: string) => void;

export interface ProgressReporter {
  readonly update: ProgressCallback;
  /** Clears the line (when one was written). */
  end(): void;
}

export interface ProgressOptions {
  stream?: ProgressStream;
  intervalMs?: number;
  now?: () => number;
}

// Control characters (escape sequences among them) never reach the terminal from a label.
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/g;

/** A reporter writing "prefix: done/total unit (label)" to the stream (default process.stderr). */
export function progressReporter(prefix: string, unit: string, options: ProgressOptions = {}): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  if (stream.isTTY !== true) return { update: () => {}, end: () => {} };
  const interval = options.intervalMs ?? 100;
  const now = options.now ?? Date.now;
  let last = -Infinity;
  let shown = 0;
  return {
    update(done, total, label) {
      const t = now();
      if (t - last < interval) return;
      last = t;
      // A terminal that reports no width (0) is taken for 80 columns.
      const width = Math.max(20, (stream.columns || 80) - 1);
      const text = `${prefix}: ${done}/${total} ${unit}${label ? ` (${label})` : ''}`.replace(CONTROL, ' ').slice(0, width);
      stream.write(`\r${text}${' '.repeat(Math.max(0, shown - text.length))}`);
      shown = text.length;
    },
    end() {
      if (shown > 0) stream.write(`\r${' '.repeat(shown)}\r`);
      shown = 0;
      last = -Infinity;
    },
  };
}
