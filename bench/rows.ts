import type { BenchConfig, BenchSizes, RowName, TunnelScenario } from './args.js';
import { TUNNEL_SCENARIOS } from './args.js';
import type { ProcessUsage } from './child-protocol.js';
import type { BenchDestinations } from './destinations.js';
import {
  openIdleConnections,
  timeDownload,
  timeNewConnections,
  timeParallelDownload,
  timePingPong,
  timeUpload,
  withTimeout,
  type TransferTiming,
} from './load.js';
import { BENCH_TARGET, startClientProcess, startEmulatorProcess, type EmulatorProcess } from './processes.js';
import { latencyStats, megabytesPerSecond, type RowResult, type ThroughputCell } from './results.js';

/*
 * Runs the selected scenarios for one row. Direct TCP drives the destinations' ports; the tunnel
 * rows start one emulator process for the row and a fresh client process per scenario, so each
 * scenario's CPU and memory figures belong to it alone.
 */

const MiB = 1024 * 1024;
/** Untimed transfers before the timed ones (at most an eighth of them), so these see JIT-compiled code. */
const WARMUP_BYTES = 4 * MiB;
/** Floor of every scenario's deadline; transfers get one more second per 200 kB on top. */
const BASE_TIMEOUT_MS = 60_000;

/** Where a scenario sends its load, and what it can read of the processes behind it (none for direct TCP). */
interface LoadTarget {
  port: number;
  usage: ((gc: boolean) => Promise<ProcessUsage>) | undefined;
  emulatorCpuSeconds: () => number | undefined;
  stop(): Promise<void>;
}

type OpenTarget = (destinationPort: number, scenario: TunnelScenario) => Promise<LoadTarget>;

export const ROW_LABELS: Record<RowName, string> = {
  direct: 'direct TCP',
  unpaced: 'ssm-tunnel, emulator unpaced',
  paced: 'ssm-tunnel, emulator paced',
};

function progress(row: RowName, text: string): void {
  process.stderr.write(`[${row}] ${text}\n`);
}

function transferTimeoutMs(bytes: number): number {
  return BASE_TIMEOUT_MS + bytes / 200;
}

function cpuSeconds(before: ProcessUsage, after: ProcessUsage): number {
  return (after.cpu.user - before.cpu.user + after.cpu.system - before.cpu.system) / 1e6;
}

/** Times one transfer and, when there is a client process, the CPU it spent meanwhile. */
async function measureTransfer(target: LoadTarget, what: string, bytes: number, run: () => Promise<TransferTiming>): Promise<ThroughputCell> {
  const before = await target.usage?.(false);
  const emulatorBefore = target.emulatorCpuSeconds();
  const timing = await withTimeout(run(), transferTimeoutMs(bytes), what);
  const after = await target.usage?.(false);
  const emulatorAfter = target.emulatorCpuSeconds();
  return {
    ...timing,
    ...(before !== undefined && after !== undefined ? { clientCpuSeconds: cpuSeconds(before, after) } : {}),
    ...(emulatorBefore !== undefined && emulatorAfter !== undefined ? { emulatorCpuSeconds: emulatorAfter - emulatorBefore } : {}),
  };
}

async function runThroughput(row: RowName, target: LoadTarget, sizes: BenchSizes, result: RowResult): Promise<void> {
  const warmup = Math.max(1, Math.min(WARMUP_BYTES, Math.floor(sizes.singleBytes / 8)));
  await withTimeout(timeDownload(target.port, warmup), transferTimeoutMs(warmup), 'the warm-up download');
  await withTimeout(timeUpload(target.port, warmup), transferTimeoutMs(warmup), 'the warm-up upload');
  const report = (name: string, cell: ThroughputCell): void => progress(row, `${name}: ${megabytesPerSecond(cell).toFixed(1)} MB/s`);
  result.download = await measureTransfer(target, 'the download', sizes.singleBytes, () => timeDownload(target.port, sizes.singleBytes));
  report('download', result.download);
  result.upload = await measureTransfer(target, 'the upload', sizes.singleBytes, () => timeUpload(target.port, sizes.singleBytes));
  report('upload', result.upload);
  const total = sizes.parallelConnections * sizes.parallelBytes;
  result.parallel = await measureTransfer(target, 'the parallel downloads', total, () =>
    timeParallelDownload(target.port, sizes.parallelConnections, sizes.parallelBytes),
  );
  report(`${sizes.parallelConnections} parallel downloads`, result.parallel);
}

async function runLatency(row: RowName, target: LoadTarget, sizes: BenchSizes, result: RowResult): Promise<void> {
  const warmup = Math.min(200, Math.ceil(sizes.roundTrips / 10));
  const samples = await withTimeout(timePingPong(target.port, sizes.roundTrips, warmup), BASE_TIMEOUT_MS + sizes.roundTrips * 20, 'the ping-pong');
  result.pingPong = latencyStats(samples);
  progress(row, `ping-pong: p50 ${(result.pingPong.p50Ns / 1000).toFixed(0)} µs, p99 ${(result.pingPong.p99Ns / 1000).toFixed(0)} µs`);
}

async function runConnect(row: RowName, target: LoadTarget, sizes: BenchSizes, result: RowResult): Promise<void> {
  const warmup = Math.min(20, Math.ceil(sizes.newConnections / 10));
  const samples = await withTimeout(
    timeNewConnections(target.port, sizes.newConnections, warmup),
    BASE_TIMEOUT_MS + sizes.newConnections * 50,
    'the new connections',
  );
  result.newConnection = latencyStats(samples);
  progress(row, `new connection: p50 ${(result.newConnection.p50Ns / 1000).toFixed(0)} µs, p99 ${(result.newConnection.p99Ns / 1000).toFixed(0)} µs`);
}

async function runIdle(row: RowName, target: LoadTarget, sizes: BenchSizes, result: RowResult): Promise<void> {
  const before = await target.usage?.(true);
  const idle = await withTimeout(
    openIdleConnections(target.port, sizes.idleConnections),
    BASE_TIMEOUT_MS + sizes.idleConnections * 50,
    'opening the idle connections',
  );
  try {
    const after = await target.usage?.(true);
    if (after !== undefined && after.openConnections !== idle.count) {
      throw new Error(`the client holds ${after.openConnections} connections, expected ${idle.count}`);
    }
    result.idle = {
      connections: idle.count,
      ...(before !== undefined && after !== undefined
        ? { rssBefore: before.memory.rss, rssAfter: after.memory.rss, heapUsedBefore: before.memory.heapUsed, heapUsedAfter: after.memory.heapUsed }
        : {}),
    };
    const memory = after === undefined ? '' : `: client RSS ${(after.memory.rss / 1e6).toFixed(1)} MB, heap ${(after.memory.heapUsed / 1e6).toFixed(1)} MB`;
    progress(row, `${idle.count} idle connections${memory}`);
  } finally {
    await idle.close();
  }
}

const RUNNERS: Record<TunnelScenario, (row: RowName, target: LoadTarget, sizes: BenchSizes, result: RowResult) => Promise<void>> = {
  throughput: runThroughput,
  latency: runLatency,
  connect: runConnect,
  idle: runIdle,
};

function destinationPortOf(scenario: TunnelScenario, destinations: BenchDestinations): number {
  if (scenario === 'throughput') return destinations.transferPort;
  if (scenario === 'connect') return destinations.bannerPort;
  return destinations.echoPort;
}

async function runScenarios(row: RowName, sizes: BenchSizes, config: BenchConfig, destinations: BenchDestinations, open: OpenTarget): Promise<RowResult> {
  const result: RowResult = { row, sizes };
  for (const scenario of TUNNEL_SCENARIOS) {
    if (!config.scenarios.includes(scenario)) continue;
    const target = await open(destinationPortOf(scenario, destinations), scenario);
    try {
      await RUNNERS[scenario](row, target, sizes, result);
    } finally {
      await target.stop();
    }
  }
  return result;
}

export async function runRow(row: RowName, config: BenchConfig, destinations: BenchDestinations): Promise<RowResult> {
  progress(row, ROW_LABELS[row]);
  if (row === 'direct') {
    return runScenarios(row, config.sizes, config, destinations, (port) =>
      Promise.resolve({ port, usage: undefined, emulatorCpuSeconds: () => undefined, stop: () => Promise.resolve() }),);
  }
  const pacing = row === 'paced';
  const emulator: EmulatorProcess = await startEmulatorProcess({ pacing, profileDir: config.profileDir, profileName: `emulator-${row}` });
  try {
    return await runScenarios(row, pacing ? config.pacedSizes : config.sizes, config, destinations, async (remotePort, scenario) => {
      const client = await startClientProcess(
        { endpoint: emulator.endpoint, region: emulator.region, credentials: emulator.credentials, target: BENCH_TARGET, remotePort },
        { dir: config.profileDir, name: `client-${row}-${scenario}` },
      );
      return { port: client.localPort, usage: (gc) => client.usage(gc), emulatorCpuSeconds: () => emulator.cpuSeconds(), stop: () => client.stop() };
    });
  } finally {
    await emulator.stop();
  }
}
