import type { BenchSizes, RowName } from './args.js';

/* What one row of the benchmark measured; every field is absent when its scenario did not run. */

export interface ThroughputCell {
  bytes: number;
  seconds: number;
  /** User + system CPU seconds of the client process during the transfer; absent for direct TCP. */
  clientCpuSeconds?: number;
  /** The same for the emulator process, where the OS reports it (Linux). */
  emulatorCpuSeconds?: number;
}

export interface LatencyStats {
  count: number;
  p50Ns: number;
  p99Ns: number;
}

export interface IdleResult {
  /** Connections held open at once, each proven open by an echoed byte. */
  connections: number;
  /** Client process figures in bytes, after garbage collection; absent for direct TCP. */
  rssBefore?: number;
  rssAfter?: number;
  heapUsedBefore?: number;
  heapUsedAfter?: number;
}

export interface RowResult {
  row: RowName;
  sizes: BenchSizes;
  download?: ThroughputCell;
  upload?: ThroughputCell;
  parallel?: ThroughputCell;
  pingPong?: LatencyStats;
  newConnection?: LatencyStats;
  idle?: IdleResult;
}

/** Nearest-rank percentiles of samples in nanoseconds. */
export function latencyStats(samplesNs: number[]): LatencyStats {
  if (samplesNs.length === 0) throw new Error('no latency samples: the scenario ran zero rounds');
  const sorted = [...samplesNs].sort((a, b) => a - b);
  const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return { count: sorted.length, p50Ns: rank(50), p99Ns: rank(99) };
}

export function megabytesPerSecond(cell: ThroughputCell): number {
  return cell.bytes / 1e6 / cell.seconds;
}

const GiB = 1024 ** 3;

/** Client CPU seconds per GiB over every throughput cell that has a CPU figure. */
export function cpuSecondsPerGiB(result: RowResult): number | undefined {
  const cells = [result.download, result.upload, result.parallel].filter((cell) => cell?.clientCpuSeconds !== undefined) as ThroughputCell[];
  if (cells.length === 0) return undefined;
  const bytes = cells.reduce((sum, cell) => sum + cell.bytes, 0);
  const seconds = cells.reduce((sum, cell) => sum + cell.clientCpuSeconds!, 0);
  return seconds / (bytes / GiB);
}

export function perGiB(seconds: number | undefined, cell: ThroughputCell): number | undefined {
  return seconds === undefined ? undefined : seconds / (cell.bytes / GiB);
}
