/** The service's own counters (the guardians keep theirs): answers by status code, refusals by
 * code and reason, forecasts in flight. Bounded: the label sets are fixed by the code. */
export class ServiceStats {
  readonly startedAt = Date.now();
  requests = 0;
  inFlight = 0;
  peakInFlight = 0;
  readonly byStatus: Record<string, number> = Object.create(null);
  readonly refusals: Record<string, number> = Object.create(null);
  internalErrors = 0;

  refused(code: string, reason?: string): void {
    const k = reason === undefined ? code : `${code}:${reason}`;
    this.refusals[k] = (this.refusals[k] ?? 0) + 1;
  }

  answered(status: number): void {
    const k = String(status);
    this.byStatus[k] = (this.byStatus[k] ?? 0) + 1;
  }

  snapshot(): object {
    return {
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeS: Math.round((Date.now() - this.startedAt) / 1000),
      requests: this.requests,
      inFlight: this.inFlight,
      peakInFlight: this.peakInFlight,
      byStatus: { ...this.byStatus },
      refusals: { ...this.refusals },
      internalErrors: this.internalErrors,
    };
  }
}
