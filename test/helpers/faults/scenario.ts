import type { Emulator, EmulatorOptions } from '../../../src/emulator/index.js';
import type { CheckedDestination } from './checked-destination.js';
import type { CheckedTransfer } from './checked-transfer.js';
import type { DestinationBehaviour } from './transfer-header.js';

/*
 * What a fault scenario is: a fault injected into a tunnel with checked transfers in flight, one
 * repetition at a time. The same definitions run at small sizes in `npm test` and at large sizes
 * in `npm run soak`; only FaultSizes differ.
 */

export type PortMode = 'mux' | 'basic';

/** Agent versions that put both ends in each mode (docs/forwarding.md §2.1). */
export const AGENT_VERSION: Record<PortMode, string> = { mux: '3.3.1142.0', basic: '3.0.0.0' };

export interface FaultSizes {
  /** Bytes each way of every in-flight transfer. */
  transferBytes: number;
  /** In-flight transfers at once in mux mode (basic mode carries one at a time). */
  parallel: number;
  /** Repetitions measured per row. */
  repetitions: number;
  /** Transfers without a fault before the first measure of memory. */
  warmup: boolean;
  /** How long faults with a duration last: paused publication, refused destination, emulator down. */
  faultMs: number;
  /** How long ResumeSession keeps failing in the resume fault. */
  resumeOutageMs: number;
  /** Socket lifetime in the periodic-close fault. */
  closeEveryMs: number;
  /** A connection on which no byte moved for this long fails. */
  stallTimeoutMs: number;
}

export type TransferExpectation = 'complete' | 'fail';

export interface TransferSpec {
  /** Default: sizes.transferBytes. */
  upload?: number;
  download?: number;
  expect: TransferExpectation;
  behaviour?: DestinationBehaviour;
  param?: number;
  holdAfter?: number;
  resetAfter?: number;
  /** Default: sizes.stallTimeoutMs. */
  stallTimeoutMs?: number;
}

/** The emulator as a process, for the fault that kills it. */
export interface EmulatorProcessControl {
  kill(): Promise<void>;
  /** A new emulator on the same port (its sessions are gone). */
  restart(): Promise<void>;
}

export interface ScenarioContext {
  readonly mode: PortMode;
  readonly sizes: FaultSizes;
  readonly destination: CheckedDestination;
  /** The in-process emulator; throws in a scenario that runs the emulator as a process. */
  readonly emulator: Emulator;
  /** The emulator process; throws in a scenario that runs the emulator in process. */
  readonly emulatorProcess: EmulatorProcessControl;
  /** Starts a checked connection through the tunnel; its figures count in the row. */
  transfer(spec: TransferSpec): CheckedTransfer;
  /** Starts `sizes.parallel` transfers (one in basic mode) expected to complete. */
  transfers(spec?: Partial<TransferSpec>): CheckedTransfer[];
  /** Marks the moment the fault acted (default now); recovery is measured from here (or from faultEnded). */
  faultInjected(at?: number): void;
  /** Marks the end of a fault with a duration; recovery is then measured from here. */
  faultEnded(): void;
  /** Round trips through the tunnel until one succeeds; records the time to recover. */
  awaitRecovery(): Promise<void>;
  /** The tunnel's current session, once it has one that is ready. */
  readySessionId(): Promise<string>;
  /** Waits until every transfer started so far has finished. */
  settled(): Promise<void>;
  waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs?: number): Promise<void>;
  sleep(ms: number): Promise<void>;
}

export interface FaultScenario {
  id: string;
  title(sizes: FaultSizes): string;
  modes: readonly PortMode[];
  /** Whether the emulator runs in process (its controls) or as a process (to be killed). */
  emulatorHost: 'in-process' | 'process';
  /** What the fault does to a user of the tunnel. */
  userImpact: string;
  /** At most this many measured repetitions, for faults that last long whatever the size. */
  maxRepetitions?: number;
  /** Emulator options for this row (faults armed from the start). */
  emulatorOptions?(sizes: FaultSizes): Partial<EmulatorOptions>;
  run(ctx: ScenarioContext): Promise<void>;
}
