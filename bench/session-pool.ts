import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { startEmulator } from '../src/emulator/index.js';
import { openTunnel } from '../src/index.js';

/*
 * Session pools through the paced emulator: the agent paces each session (1 KiB + 1 ms per message,
 * docs/forwarding.md §7.2), so a few parallel downloads share one session's ~1 MB/s; `sessions: N`
 * spreads them over N sessions. Aggregate MB/s (1 MB = 10^6 bytes) for N = 1, 2, 4. Everything runs
 * in this process: at these rates the pacing timers, not the CPU, set the pace.
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

/** Bound on one measurement: the 1-session run of the default sizes takes about 11 s. */
const MEASURE_TIMEOUT_MS = 120_000;
const READY_TIMEOUT_MS = 30_000;
const TARGET = 'i-0123456789abcdef0';
/** Reused for every write: generating bytes must not be what is measured. */
const CHUNK = randomBytes(64 * 1024);

export interface PoolMeasurement {
  sessions: number;
  bytes: number;
  seconds: number;
}

/** Runs the measurements (emulator pacing on) and returns them, smallest pool first. */
export async function measureSessionPools(sizes: SessionPoolSizes): Promise<PoolMeasurement[]> {
  const emulator = await startEmulator({ pacing: true, targets: { [TARGET]: {} } });
  const source = await startSource();
  const measurements: PoolMeasurement[] = [];
  try {
    for (const sessions of sizes.poolSizes) {
      const tunnel = await openTunnel({
        target: TARGET,
        remoteHost: '127.0.0.1',
        remotePort: source.port,
        endpoint: emulator.endpoint,
        region: emulator.region,
        credentials: emulator.credentials,
        sessions,
      });
      try {
        await withTimeout(until(() => tunnel.stats.sessions.every((s) => s.state === 'ready')), READY_TIMEOUT_MS, `${sessions} sessions to start`);
        const started = process.hrtime.bigint();
        await withTimeout(
          Promise.all(Array.from({ length: sizes.connections }, () => download(tunnel.localPort, sizes.bytesEach))),
          MEASURE_TIMEOUT_MS,
          `${sizes.connections} downloads over ${sessions} session(s)`,
        );
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        measurements.push({ sessions, bytes: sizes.connections * sizes.bytesEach, seconds });
      } finally {
        await tunnel.close();
      }
    }
  } finally {
    await source.close();
    await emulator.close();
  }
  return measurements;
}

/** A destination that reads a uint32 BE byte count, sends that many bytes and closes. */
async function startSource(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.once('readable', () => {
      const request = socket.read(4) as Buffer | null;
      if (request === null) return socket.destroy();
      void send(socket, request.readUInt32BE(0));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes `count` bytes with backpressure, then ends. */
async function send(socket: Socket, count: number): Promise<void> {
  let left = count;
  while (left > 0 && !socket.destroyed) {
    const size = Math.min(left, CHUNK.length);
    left -= size;
    if (!socket.write(size === CHUNK.length ? CHUNK : CHUNK.subarray(0, size))) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  }
  socket.end();
}

/** Asks for `bytes` and resolves once all of them arrived. */
function download(port: number, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const socket = connect({ host: '127.0.0.1', port }, () => {
      const request = Buffer.alloc(4);
      request.writeUInt32BE(bytes, 0);
      socket.write(request);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= bytes) {
        socket.destroy();
        resolve();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => {
      if (received < bytes) reject(new Error(`a download closed after ${received} of ${bytes} bytes`));
    });
  });
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The markdown table: one row per pool size, with the gain over one session. */
export function sessionPoolTable(measurements: readonly PoolMeasurement[], sizes: SessionPoolSizes): string {
  const base = measurements[0];
  const rate = (m: PoolMeasurement): number => m.bytes / m.seconds / 1e6;
  const lines = [
    `${sizes.connections} parallel downloads of ${(sizes.bytesEach / MiB).toFixed(2)} MiB each through the emulator with the agent's pacing on; ` +
      'emulator, client and load generator in one process (the pacing timers set the pace, not the CPU). 1 MB = 10^6 bytes.',
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
