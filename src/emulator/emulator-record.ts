/*
 * What happened at the emulated service, for tests and for the emulator's status output:
 * every API call and every refused data channel. Bounded: the oldest entries go first.
 */

export interface ApiCallRecord {
  /** `StartSession`, `ResumeSession`, … (`unknown` when X-Amz-Target was missing). */
  operation: string;
  at: Date;
  sessionId?: string;
  target?: string;
  /** The AWS error type returned, e.g. `TargetNotConnected`; absent on success. */
  error?: string;
}

export interface ChannelRefusal {
  at: Date;
  sessionId?: string;
  reason: string;
}

const MAX_ENTRIES = 10_000;

export class EmulatorRecord {
  readonly calls: ApiCallRecord[] = [];
  readonly channelRefusals: ChannelRefusal[] = [];

  addCall(call: ApiCallRecord): void {
    append(this.calls, call);
  }

  addChannelRefusal(refusal: ChannelRefusal): void {
    append(this.channelRefusals, refusal);
  }
}

function append<T>(entries: T[], entry: T): void {
  entries.push(entry);
  if (entries.length > MAX_ENTRIES) entries.shift();
}
