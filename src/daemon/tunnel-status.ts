/*
 * What the daemon reports about its tunnels: the shape of GET /status, the input of /healthz,
 * /metrics and `ssm-tunnel status`. Plain JSON data; absent values are null so every key is present.
 */
import type { TunnelState } from '../tunnel/tunnel.js';

/**
 * A tunnel's own states, plus two of the daemon's:
 * - `starting`: its listener is being opened
 * - `unbound`: its local address could not be bound; retried with backoff
 */
export type DaemonTunnelState = TunnelState | 'starting' | 'unbound';

export interface TunnelStatus {
  name: string;
  state: DaemonTunnelState;
  /** When the tunnel entered `state` (ISO 8601). */
  since: string;
  /** The bound address; the configured one while unbound; `unix` and 0 for a unix socket. */
  local: { host: string; port: number };
  /** The unix socket the tunnel listens on instead of TCP. */
  localSocket: string | null;
  /** As configured: an id, `name:<Name>` or `tag:Key=Value,…`. */
  target: string;
  /** The node the current session runs on (what a name or tag resolved to). */
  targetId: string | null;
  /** `host` null: a port on the target itself. */
  remote: { host: string | null; port: number };
  sessionId: string | null;
  agentVersion: string | null;
  mode: 'mux' | 'basic' | null;
  openConnections: number;
  waitingConnections: number;
  totalConnections: number;
  failedConnections: number;
  /** Local clients → destination, open connections included. */
  bytesUp: number;
  /** Destination → local clients, open connections included. */
  bytesDown: number;
  reconnects: number;
  resumes: number;
  lastError: string | null;
  /** Each SSM session of the tunnel's pool (one unless `sessions:` says more); a proxy's, one per destination. */
  sessions: PoolSessionStatus[];
  /** `socks`: a SOCKS5 / HTTP CONNECT proxy (no single remote or session; see `destinations`). */
  kind: 'forward' | 'socks';
  /** A proxy's destinations with a session now, each with its own; empty for a forwarding tunnel. */
  destinations: ProxyDestinationStatus[];
}

export interface ProxyDestinationStatus {
  /** `host:port` as clients asked for it. */
  destination: string;
  state: string;
  sessionId: string | null;
  targetId: string | null;
  openConnections: number;
}

export interface PoolSessionStatus {
  /** `starting`, `ready`, `resuming`, `restarting` or `failed`. */
  state: string;
  sessionId: string | null;
  targetId: string | null;
  openConnections: number;
}

export interface DaemonStatus {
  pid: number;
  startedAt: string;
  configFile: string;
  tunnels: TunnelStatus[];
}

export function isReady(tunnel: TunnelStatus): boolean {
  return tunnel.state === 'ready';
}
