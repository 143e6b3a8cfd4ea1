/**
 * The emergency procedures of SPEC section 4, as state the guardian consults on every call:
 * maintenance (the breaker forced open; calls get a fallback or are refused), and the suspension
 * of inference after `suspendAfter` corrupt outputs in a row (the breaker forced open until an
 * operator resumes). Leaving either goes through the breaker's half-open trials.
 */
import type { CircuitBreaker, Permit } from '../breaker';
import type { CallState } from './call-state';

export type MaintenanceMode = 'fallback' | 'refuse';

export class EmergencyState {
  maintenance: { reason: string; mode: MaintenanceMode } | null = null;
  suspended: string | null = null;
  #corruptInARow = 0;

  constructor(
    private readonly breaker: CircuitBreaker,
    private readonly suspendAfter: number,
  ) {}

  enterMaintenance(reason: string, mode: MaintenanceMode): void {
    this.maintenance = { reason, mode };
    this.breaker.forceOpen(`maintenance: ${reason}`);
  }

  exitMaintenance(): void {
    this.maintenance = null;
    this.breaker.release('maintenance over', 'half-open');
  }

  resume(): void {
    this.suspended = null;
    this.#corruptInARow = 0;
    this.breaker.release('inference resumed', 'half-open');
  }

  /** True when neither procedure sends calls away from the model. */
  get clear(): boolean {
    return this.maintenance === null && this.suspended === null;
  }

  /** Breaker and suspension after the output shield: the call failed when any series did. */
  settle(st: CallState, permit: Permit, corrupt: number, replaced: number): void {
    if (corrupt > 0) {
      permit.failure('non-finite output');
      this.#corruptInARow++;
      if (this.#corruptInARow >= this.suspendAfter && !this.suspended) {
        this.suspended = `${this.#corruptInARow} corrupt outputs in a row`;
        this.breaker.forceOpen(`suspended: ${this.suspended}`);
        st.shields.push({ shield: 'emergency', action: 'suspend', detail: this.suspended });
        // In the record too: the call that suspends inference is where an auditor looks for why.
        st.decisions.push({ shield: 'emergency', action: 'suspend', corruptInARow: this.#corruptInARow });
      }
      return;
    }
    this.#corruptInARow = 0;
    if (replaced > 0) permit.failure('implausible output');
    else permit.success();
  }
}
