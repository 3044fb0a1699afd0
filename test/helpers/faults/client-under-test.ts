import type { TunnelOptions, TunnelStats } from '../../../src/index.js';

/*
 * The tunnel whose behaviour the fault suite measures: Tunnel.start() in a child process of its own
 * (client-child.ts), so that its memory figures are the client's alone and its two ends really run
 * side by side. What the driver and the child share is defined here.
 */

export interface ClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  target: string;
  remotePort: number;
  reconnect: { initialDelayMs: number; maxDelayMs: number };
  connectTimeoutMs: number;
}

export type ClientStats = Pick<TunnelStats, 'state' | 'sessionId' | 'openConnections' | 'waitingConnections' | 'resumes' | 'reconnects'>;

export interface MemoryFigures {
  rss: number;
  heapUsed: number;
}

export interface ClientUnderTest {
  readonly localPort: number;
  stats(): Promise<ClientStats>;
  /** Memory after a garbage collection (when the process allows one). */
  memory(): Promise<MemoryFigures>;
  close(): Promise<void>;
}

export function tunnelOptions(config: ClientConfig): TunnelOptions {
  return {
    target: config.target,
    remoteHost: '127.0.0.1',
    remotePort: config.remotePort,
    endpoint: config.endpoint,
    region: config.region,
    credentials: config.credentials,
    localPort: 0,
    reconnect: config.reconnect,
    connectTimeoutMs: config.connectTimeoutMs,
  };
}

export function pickStats(stats: TunnelStats): ClientStats {
  const { state, sessionId, openConnections, waitingConnections, resumes, reconnects } = stats;
  return { state, sessionId, openConnections, waitingConnections, resumes, reconnects };
}

/** Collects garbage twice (finalizers of the first pass free more) when `--expose-gc` allows it. */
export function measureMemory(): MemoryFigures {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}
