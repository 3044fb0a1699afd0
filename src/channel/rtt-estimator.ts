/**
 * Retransmission timeout from round-trip samples, docs/protocol.md §6.2 (RFC 6298 gains).
 * Two deliberate deviations from the reference: a floor on the RTO, because on loopback the
 * formula shrinks it to SRTT + 10 ms and causes spurious resends (docs/protocol.md §12.4); and
 * callers feed only samples of messages sent once (Karn), instead of measuring resends from the
 * first send (docs/protocol.md §6.1).
 */
export interface RttEstimatorOptions {
  initialRtoMs: number;
  minRtoMs: number;
  maxRtoMs: number;
}

export const DEFAULT_RTT_OPTIONS: RttEstimatorOptions = { initialRtoMs: 200, minRtoMs: 100, maxRtoMs: 1000 };

const ALPHA = 1 / 8;
const BETA = 1 / 4;
const CLOCK_GRANULARITY_MS = 10;

export class RttEstimator {
  private srtt = 100;
  private rttvar = 0;
  private rto: number;

  constructor(private readonly options: RttEstimatorOptions = DEFAULT_RTT_OPTIONS) {
    this.rto = options.initialRtoMs;
  }

  get rtoMs(): number {
    return this.rto;
  }

  get smoothedRttMs(): number {
    return this.srtt;
  }

  addSample(rttMs: number): void {
    this.rttvar = (1 - BETA) * this.rttvar + BETA * Math.abs(this.srtt - rttMs);
    this.srtt = (1 - ALPHA) * this.srtt + ALPHA * rttMs;
    const rto = this.srtt + Math.max(CLOCK_GRANULARITY_MS, 4 * this.rttvar);
    this.rto = Math.min(this.options.maxRtoMs, Math.max(this.options.minRtoMs, rto));
  }
}
