import { setTimeout as sleep } from 'node:timers/promises';
import { startEmulator, type Emulator } from '../../../src/emulator/index.js';
import { waitFor } from '../wait.js';
import { CheckedDestination } from './checked-destination.js';
import { CheckedTransfer, type TransferOutcome } from './checked-transfer.js';
import type { ClientConfig, ClientUnderTest, MemoryFigures } from './client-under-test.js';
import { startClientProcess } from './client-process.js';
import { isolatedEnv, startEmulatorProcess, type EmulatorProcess } from './emulator-process.js';
import {
  AGENT_VERSION,
  type EmulatorProcessControl,
  type FaultScenario,
  type FaultSizes,
  type PortMode,
  type ScenarioContext,
  type TransferSpec,
} from './scenario.js';

/*
 * Runs one row of the fault matrix (a scenario in one mode): a fresh emulator, destination and
 * client process; optional warm-up transfers; then the measured repetitions, each joined with what
 * the destination saw, into the row's figures.
 */

export const FAULT_TARGET = 'i-0123456789abcdef0';

export interface RowFigures {
  scenario: string;
  title: string;
  mode: PortMode;
  repetitions: number;
  connections: number;
  failed: number;
  expectedFailures: number;
  /** Connections expected to complete that failed: must be 0. */
  unexpectedFailures: number;
  /** Connections the fault should have broken that completed anyway (the fault missed them). */
  unexpectedCompletions: number;
  bytesSent: number;
  bytesReceived: number;
  /** Received bytes that differ from what was sent at their offset (probes included): must be 0. */
  bytesCorrupted: number;
  /** Sent − received, on the connections that failed. */
  bytesLost: number;
  /** Per repetition: fault injected (or ended) → next successful round trip. */
  recoveryMs: number[];
  memoryBefore: MemoryFigures;
  memoryAfter: MemoryFigures;
  /** What was still open once the row was over (leaks show here). */
  leftOpen: { client: number; waiting: number; destination: number };
  /** What the client did about the faults: sockets resumed, and new sessions after the first. */
  resumes: number;
  reconnects: number;
  /** The first few reasons of unexpected failures. */
  failureReasons: string[];
  /** The scenario itself failed (a wait timed out, a step threw). */
  error?: string;
  durationMs: number;
}

export interface RowOptions {
  sizes: FaultSizes;
}

const PROBE_BYTES = 1024;
const SETTLE_TIMEOUT_MS = 10_000;

interface Tracked {
  transfer: CheckedTransfer;
  expect: TransferSpec['expect'];
}

interface RowTotals {
  connections: number;
  failed: number;
  expectedFailures: number;
  unexpectedFailures: number;
  unexpectedCompletions: number;
  bytesSent: number;
  bytesReceived: number;
  bytesCorrupted: number;
  bytesLost: number;
  recoveryMs: number[];
  failureReasons: string[];
}

function emptyTotals(): RowTotals {
  return {
    connections: 0,
    failed: 0,
    expectedFailures: 0,
    unexpectedFailures: 0,
    unexpectedCompletions: 0,
    bytesSent: 0,
    bytesReceived: 0,
    bytesCorrupted: 0,
    bytesLost: 0,
    recoveryMs: [],
    failureReasons: [],
  };
}

/** The emulator of a row, in process or as a process, behind one shape. */
interface RowEmulator {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  inProcess: Emulator | undefined;
  control: EmulatorProcessControl | undefined;
  close(): Promise<void>;
}

async function startRowEmulator(scenario: FaultScenario, mode: PortMode, sizes: FaultSizes): Promise<RowEmulator> {
  if (scenario.emulatorHost === 'in-process') {
    const emulator = await startEmulator({
      pacing: false,
      agentVersion: AGENT_VERSION[mode],
      targets: { [FAULT_TARGET]: {} },
      ...scenario.emulatorOptions?.(sizes),
    });
    return {
      endpoint: emulator.endpoint,
      region: emulator.region,
      credentials: emulator.credentials,
      inProcess: emulator,
      control: undefined,
      close: () => emulator.close(),
    };
  }
  let current: EmulatorProcess | undefined = await startEmulatorProcess({ target: FAULT_TARGET, agentVersion: AGENT_VERSION[mode], port: 0 });
  const port = current.port;
  const control: EmulatorProcessControl = {
    kill: async () => {
      await current?.kill();
      current = undefined;
    },
    restart: async () => {
      await current?.kill();
      current = await startEmulatorProcess({ target: FAULT_TARGET, agentVersion: AGENT_VERSION[mode], port });
    },
  };
  return {
    endpoint: current.endpoint,
    region: current.region,
    credentials: current.credentials,
    inProcess: undefined,
    control,
    close: async () => {
      await current?.stop();
    },
  };
}

/** One repetition's view of the row, handed to the scenario. */
class RepetitionContext implements ScenarioContext {
  readonly tracked: Tracked[] = [];
  private injectedAt: number | undefined;
  private endedAt: number | undefined;
  readonly recoveries: number[] = [];
  probeCorrupted = 0;

  constructor(
    readonly mode: PortMode,
    readonly sizes: FaultSizes,
    readonly destination: CheckedDestination,
    private readonly rowEmulator: RowEmulator,
    private readonly client: ClientUnderTest,
    private readonly nextConnectionId: () => number,
  ) {}

  get emulator(): Emulator {
    if (this.rowEmulator.inProcess === undefined) throw new Error('this scenario runs the emulator as a process: use emulatorProcess');
    return this.rowEmulator.inProcess;
  }

  get emulatorProcess(): EmulatorProcessControl {
    if (this.rowEmulator.control === undefined) throw new Error('this scenario runs the emulator in process: use emulator');
    return this.rowEmulator.control;
  }

  transfer(spec: TransferSpec): CheckedTransfer {
    const transfer = this.start(spec);
    this.tracked.push({ transfer, expect: spec.expect });
    return transfer;
  }

  transfers(spec: Partial<TransferSpec> = {}): CheckedTransfer[] {
    const count = this.mode === 'basic' ? 1 : this.sizes.parallel;
    return Array.from({ length: count }, () => this.transfer({ expect: 'complete', ...spec }));
  }

  faultInjected(at: number = Date.now()): void {
    this.injectedAt ??= at;
  }

  faultEnded(): void {
    this.endedAt = Date.now();
  }

  async awaitRecovery(): Promise<void> {
    const from = this.endedAt ?? this.injectedAt ?? Date.now();
    const deadline = Date.now() + 4 * this.sizes.stallTimeoutMs;
    for (;;) {
      const probe = this.start({ upload: PROBE_BYTES, download: PROBE_BYTES, expect: 'complete' });
      const outcome = await probe.outcome;
      this.probeCorrupted += outcome.downloadCorrupted;
      const record = this.destination.record(outcome.connectionId);
      this.probeCorrupted += record?.uploadCorrupted ?? 0;
      this.destination.forget(outcome.connectionId);
      if (outcome.completed) {
        this.recoveries.push(Date.now() - from);
        return;
      }
      if (Date.now() > deadline) throw new Error(`no successful round trip within ${4 * this.sizes.stallTimeoutMs} ms of the fault: ${outcome.error}`);
      await sleep(20);
    }
  }

  async readySessionId(): Promise<string> {
    let sessionId: string | undefined;
    await this.waitFor(async () => {
      const stats = await this.client.stats();
      sessionId = stats.state === 'ready' ? stats.sessionId : undefined;
      return sessionId !== undefined;
    }, 'the tunnel to have a ready session');
    return sessionId!;
  }

  async settled(): Promise<void> {
    await Promise.all(this.tracked.map((t) => t.transfer.outcome));
  }

  waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 4 * this.sizes.stallTimeoutMs): Promise<void> {
    return waitFor(condition, what, timeoutMs);
  }

  sleep(ms: number): Promise<void> {
    return sleep(ms);
  }

  private start(spec: TransferSpec): CheckedTransfer {
    return new CheckedTransfer({
      connectionId: this.nextConnectionId(),
      port: this.client.localPort,
      upload: spec.upload ?? this.sizes.transferBytes,
      download: spec.download ?? this.sizes.transferBytes,
      behaviour: spec.behaviour,
      param: spec.param,
      holdAfter: spec.holdAfter,
      resetAfter: spec.resetAfter,
      stallTimeoutMs: spec.stallTimeoutMs ?? this.sizes.stallTimeoutMs,
    });
  }
}

/** Joins each connection's two ends and adds them to the totals. */
async function account(context: RepetitionContext, totals: RowTotals): Promise<void> {
  const outcomes = await Promise.all(context.tracked.map(async (t) => ({ outcome: await t.transfer.outcome, expect: t.expect })));
  // The destination learns of a close a little after the client does.
  await waitFor(
    () => outcomes.every(({ outcome }) => context.destination.record(outcome.connectionId)?.closed ?? true),
    'the destination to see every connection closed',
    SETTLE_TIMEOUT_MS,
  ).catch(() => undefined);
  for (const { outcome, expect } of outcomes) addConnection(totals, outcome, expect, context.destination);
  totals.bytesCorrupted += context.probeCorrupted;
  totals.recoveryMs.push(...context.recoveries);
}

function addConnection(totals: RowTotals, outcome: TransferOutcome, expect: TransferSpec['expect'], destination: CheckedDestination): void {
  const record = destination.record(outcome.connectionId);
  destination.forget(outcome.connectionId);
  const sent = outcome.uploadSent + (record?.downloadSent ?? 0);
  const received = outcome.downloadReceived + (record?.uploadReceived ?? 0);
  totals.connections += 1;
  totals.bytesSent += sent;
  totals.bytesReceived += received;
  totals.bytesCorrupted += outcome.downloadCorrupted + (record?.uploadCorrupted ?? 0);
  if (expect === 'fail') totals.expectedFailures += 1;
  if (outcome.completed) {
    if (expect === 'fail') totals.unexpectedCompletions += 1;
    return;
  }
  totals.failed += 1;
  totals.bytesLost += sent - received;
  if (expect === 'complete') {
    totals.unexpectedFailures += 1;
    if (totals.failureReasons.length < 5) totals.failureReasons.push(`connection ${outcome.connectionId}: ${outcome.error}`);
  }
}

export async function runRow(scenario: FaultScenario, mode: PortMode, options: RowOptions): Promise<RowFigures> {
  const sizes = { ...options.sizes, repetitions: Math.min(options.sizes.repetitions, scenario.maxRepetitions ?? Infinity) };
  const startedAt = Date.now();
  const totals = emptyTotals();
  const destination = await CheckedDestination.start();
  let rowEmulator: RowEmulator | undefined;
  let client: ClientUnderTest | undefined;
  let memoryBefore: MemoryFigures = { rss: 0, heapUsed: 0 };
  let memoryAfter: MemoryFigures = { rss: 0, heapUsed: 0 };
  const leftOpen = { client: 0, waiting: 0, destination: 0 };
  const recovered = { resumes: 0, reconnects: 0 };
  let error: string | undefined;
  try {
    rowEmulator = await startRowEmulator(scenario, mode, sizes);
    const config: ClientConfig = {
      endpoint: rowEmulator.endpoint,
      region: rowEmulator.region,
      credentials: rowEmulator.credentials,
      target: FAULT_TARGET,
      remotePort: destination.port,
      reconnect: { initialDelayMs: 50, maxDelayMs: 1000 },
      connectTimeoutMs: 4 * sizes.stallTimeoutMs,
    };
    client = await startClientProcess(config, isolatedEnv());
    let connectionId = 0;
    const nextId = (): number => ++connectionId;
    if (sizes.warmup) {
      // Transfers without a fault, so that "before" is measured on a client that has done the work once.
      const context = new RepetitionContext(mode, sizes, destination, rowEmulator, client, nextId);
      await context.readySessionId();
      context.transfers();
      await context.settled();
      await account(context, emptyTotals());
    }
    memoryBefore = await client.memory();
    for (let index = 0; index < sizes.repetitions; index++) {
      const context = new RepetitionContext(mode, sizes, destination, rowEmulator, client, nextId);
      // Each repetition starts from a ready tunnel, whatever the one before left behind.
      await context.readySessionId();
      try {
        await scenario.run(context);
      } finally {
        await context.settled();
        await account(context, totals);
      }
    }
    const finalClient = client;
    await waitFor(
      async () => {
        const stats = await finalClient.stats();
        leftOpen.client = stats.openConnections;
        leftOpen.waiting = stats.waitingConnections;
        leftOpen.destination = destination.openConnections;
        recovered.resumes = stats.resumes;
        recovered.reconnects = stats.reconnects;
        return leftOpen.client === 0 && leftOpen.waiting === 0 && leftOpen.destination === 0;
      },
      'every connection to be closed at both ends',
      SETTLE_TIMEOUT_MS,
    ).catch(() => undefined);
    memoryAfter = await client.memory();
  } catch (e) {
    error = (e as Error).message;
  } finally {
    await client?.close().catch(() => undefined);
    await rowEmulator?.close().catch(() => undefined);
    await destination.close();
  }
  return {
    scenario: scenario.id,
    title: scenario.title(sizes),
    mode,
    repetitions: sizes.repetitions,
    ...totals,
    bytesCorrupted: totals.bytesCorrupted + destination.unidentifiedBytes,
    memoryBefore,
    memoryAfter,
    leftOpen,
    ...recovered,
    ...(error === undefined ? {} : { error }),
    durationMs: Date.now() - startedAt,
  };
}
