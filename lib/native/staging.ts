/**
 * Staging memory: ArrayBuffers whose memory the addon owns (native/bindings/staging.h). An async
 * model run whose input or output lives there uses it in place and holds a share of it until the
 * run is over, whatever JS does with the buffer meanwhile; any other memory is copied by the run.
 * Where the runtime forbids external buffers (a V8 sandbox), plain memory is used instead and the
 * runs copy.
 *
 * Staging buffers are for reuse, not for one call each: V8 counts their bytes as external memory
 * and collects garbage after enough of it was allocated, so a fresh buffer per call costs far
 * more than the copy it saves (measured in a loop of allocations on the benchmark machine: 56 us
 * per 18 KB buffer, 1.4 ms per 288 KB one; a plain ArrayBuffer 24 us and 62 us). StagingPool
 * keeps them.
 */
import { markAsUntransferable } from 'node:worker_threads';

import { addon } from './addon';

/** A zeroed ArrayBuffer of `bytes` in staging memory (or plain memory, see above), untransferable. */
export function stagingBuffer(bytes: number): ArrayBuffer {
  const buffer = addon().allocStaging(Math.max(bytes, 1)) ?? new ArrayBuffer(Math.max(bytes, 1));
  markAsUntransferable(buffer);
  return buffer;
}

/**
 * Float32 staging buffers for reuse: `take(n)` lends a view of n floats (its contents are left
 * over from the last use), `give(view)` returns it once nothing reads it any more. Capacities are
 * powers of two; at most `keep` idle buffers per capacity are kept.
 */
export class StagingPool {
  readonly #idle = new Map<number, ArrayBuffer[]>();
  readonly #keep: number;

  constructor(keep = 4) {
    this.#keep = keep;
  }

  take(n: number): Float32Array {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(n, 256)));
    const idle = this.#idle.get(capacity);
    const buffer = idle?.pop() ?? stagingBuffer(capacity * 4);
    return new Float32Array(buffer, 0, n);
  }

  give(view: Float32Array): void {
    const capacity = view.buffer.byteLength / 4;
    let idle = this.#idle.get(capacity);
    if (!idle) this.#idle.set(capacity, (idle = []));
    if (idle.length < this.#keep && view.byteOffset === 0 && !idle.includes(view.buffer as ArrayBuffer)) idle.push(view.buffer as ArrayBuffer);
  }
}
