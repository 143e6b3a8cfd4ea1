/**
 * Result buffers carved from shared slabs. A fresh typed array costs about a microsecond here
 * (an ArrayBuffer backing store is allocated and registered with the GC: 0.7 us for 32 floats,
 * 1.2 us for 288, measured on the 2-core EPYC of BENCHMARKS.md), more than the rest of the output
 * shield; a view on a slab costs about 40 ns. Node's own Buffer pool makes the same trade.
 *
 * What a caller must know (README, "Result buffers"): the `.buffer` of a pooled result holds
 * other results too (use the view itself, or `.slice()` for a copy of one's own), and a slab
 * cannot be transferred to a worker: it is marked untransferable, so postMessage or
 * structuredClone with a transfer list copies it (Node 20) or throws (later Nodes) instead of
 * detaching other results. A slab lives as long as any view on it.
 * `resultBuffers: 'own'` gives each result its own buffers instead.
 */
import { markAsUntransferable } from 'node:worker_threads';

/** Bytes per slab: small, so a long-lived result keeps little else alive. */
const SLAB_BYTES = 16 * 1024;
/** Requests above this get a buffer of their own (a slab would hold few of them). */
const MAX_POOLED_BYTES = SLAB_BYTES / 4;
/** Views start on 16-byte boundaries (SIMD-friendly for whoever reads them). */
const ALIGN = 16;

export class ResultSlab {
  #slab: ArrayBuffer | null = null;
  #used = SLAB_BYTES;

  /** A zeroed Float32Array of n elements (from a slab when it is small). */
  take(n: number): Float32Array {
    const bytes = n * 4;
    if (bytes > MAX_POOLED_BYTES) return new Float32Array(n);
    // byteLength 0: someone detached the slab after all (it cannot be transferred, but a
    // native library could detach it); start a fresh one rather than fail.
    if (this.#slab === null || this.#used + bytes > SLAB_BYTES || this.#slab.byteLength === 0) {
      this.#slab = new ArrayBuffer(SLAB_BYTES);
      markAsUntransferable(this.#slab);
      this.#used = 0;
    }
    const view = new Float32Array(this.#slab, this.#used, n);
    this.#used += (bytes + ALIGN - 1) & ~(ALIGN - 1);
    return view;
  }
}

/** Buffers of their own: the `resultBuffers: 'own'` choice. */
export const OWN_BUFFERS = { take: (n: number): Float32Array => new Float32Array(n) };

export type ResultBuffers = Pick<ResultSlab, 'take'>;
