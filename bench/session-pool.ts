import { openTunnel } from '../src/index.js';
import { startDestinations } from './destinations.js';
import { timeParallelDownload, withTimeout } from './load.js';
import { BENCH_TARGET, startEmulatorProcess } from './processes.js';

/*
 * Session pools through the paced emulator: the agent paces each session (1 KiB + 1 ms per message,
 * data-channel.md §16.5), so a few parallel downloads share one session's ~1 MB/s; `sessions: N`
 * spreads them over N sessions. Aggregate MB/s (1 MB = 10^6 bytes) for N = 1, 2, 4.
 */

export interface SessionPoolSizes {
  /** Parallel downloads per measurement. */
  connections: number;
  /** Bytes each download moves. */
  bytesEach: number;
  poolSizes: number[];
}

const MiB = 1024 * 1024;

export const DEFAULT_POOL_SIZES: SessionPoolSizes = { connections: 4, bytesEach: 2 * MiB, poolSizes: [1, 2, 4] };
export const QUICK_POOL_SIZES: SessionPoolSizes = { connections: 4, bytesEach: 256 * 1024, poolSizes: [1, 2, 4] };

/** Bound on one measurement: the 1-session run of the default sizes takes about 9 s. */
const MEASURE_TIMEOUT_MS = 120_000;
const READY_TIMEOUT_MS = 30_000;

export interface PoolMeasurement {
  sessions: number;
  bytes: number;
  seconds: number;
}

/** Runs the measurements (emulator as its own process, pacing on) and returns them, N = 1 first. */
export async function measureSessionPools(sizes: SessionPoolSizes): Promise<PoolMeasurement[]> {
  const emulator = await startEmulatorProcess({ pacing: true, profileDir: undefined, profileName: 'session-pool' });
  const destinations = await startDestinations();
  const measurements: PoolMeasurement[] = [];
  try {
    for (const sessions of sizes.poolSizes) {
      const tunnel = await openTunnel({
        target: BENCH_TARGET,
        remoteHost: '127.0.0.1',
        remotePort: destinations.transferPort,
        endpoint: emulator.endpoint,
        region: emulator.region,
        credentials: emulator.credentials,
        sessions,
      });
      try {
        await withTimeout(allSessionsReady(() => tunnel.stats.sessions.every((s) => s.state === 'ready')), READY_TIMEOUT_MS, `${sessions} sessions to start`);
        const timing = await withTimeout(
          timeParallelDownload(tunnel.localPort, sizes.connections, sizes.bytesEach),
          MEASURE_TIMEOUT_MS,
          `${sizes.connections} downloads over ${sessions} session(s)`,
        );
        measurements.push({ sessions, ...timing });
      } finally {
        await tunnel.close();
      }
    }
  } finally {
    await destinations.close();
    await emulator.stop();
  }
  return measurements;
}

async function allSessionsReady(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** The markdown table: one row per pool size, with the gain over one session. */
export function sessionPoolTable(measurements: readonly PoolMeasurement[], sizes: SessionPoolSizes): string {
  const base = measurements[0];
  const rate = (m: PoolMeasurement): number => m.bytes / m.seconds / 1e6;
  const lines = [
    `${sizes.connections} parallel downloads of ${(sizes.bytesEach / MiB).toFixed(2)} MiB each through the emulator with the agent's pacing on; ` +
      'client and load generator in the driver process, emulator in its own. 1 MB = 10^6 bytes.',
    '',
    '| sessions | seconds | aggregate MB/s | vs 1 session |',
    '| ---: | ---: | ---: | ---: |',
    ...measurements.map(
      (m) => `| ${m.sessions} | ${m.seconds.toFixed(2)} | ${rate(m).toFixed(2)} | ${base === undefined ? '-' : `${(rate(m) / rate(base)).toFixed(2)}×`} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/** The scenario: measures and returns the markdown section. */
export async function runSessionPoolBenchmark(quick: boolean): Promise<string> {
  const sizes = quick ? QUICK_POOL_SIZES : DEFAULT_POOL_SIZES;
  return sessionPoolTable(await measureSessionPools(sizes), sizes);
}
