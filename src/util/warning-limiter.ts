/*
 * Rate limiting for warnings a peer can trigger at will (a malformed frame, a SYN it may not send):
 * without it, 2.2 MiB of smux SYN frames wrote 256,003 lines (53 MiB) of log. Imports nothing.
 */

/** What the limiter needs of a logger (pino's `warn` fits). */
export interface WarnLogger {
  warn(fields: object, message: string): void;
}

/** Lines per kind: one, then none for this long. */
export const WARNING_INTERVAL_MS = 5000;

/**
 * Logs the first warning of each kind, then at most one per `intervalMs`; each line after a quiet
 * spell carries `suppressed`, the number of the same kind left out since the previous line.
 */
export class WarningLimiter {
  private readonly kinds = new Map<string, { loggedAt: number; suppressed: number }>();

  constructor(
    private readonly log: WarnLogger | undefined,
    private readonly intervalMs = WARNING_INTERVAL_MS,
  ) {}

  /** `message` names the kind: the same message is the same kind of warning. */
  warn(fields: object, message: string): void {
    const now = Date.now();
    const kind = this.kinds.get(message);
    if (kind !== undefined && now - kind.loggedAt < this.intervalMs) {
      kind.suppressed += 1;
      return;
    }
    this.log?.warn(kind !== undefined && kind.suppressed > 0 ? { ...fields, suppressed: kind.suppressed } : fields, message);
    this.kinds.set(message, { loggedAt: now, suppressed: 0 });
  }
}
