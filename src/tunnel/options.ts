import type { Logger } from 'pino';
import type { AwsConnectionOptions, SessionApi } from '../aws/session-api.js';

export interface ReconnectOptions {
  /** First delay before retrying a failed session start or resume. */
  initialDelayMs: number;
  /** Upper bound of a single delay. */
  maxDelayMs: number;
  /** Growth factor between attempts. */
  factor: number;
  /** Attempts before giving up; `Infinity` retries forever (the daemon's choice). */
  maxRetries: number;
}

export const DEFAULT_RECONNECT: ReconnectOptions = {
  initialDelayMs: 200,
  maxDelayMs: 30_000,
  factor: 2,
  maxRetries: Infinity,
};

export interface TunnelOptions extends AwsConnectionOptions {
  /** Instance id or managed node id. */
  target: string;
  /** Destination host as seen from the target; omit to reach a port on the target itself. */
  remoteHost?: string;
  remotePort: number;
  /** Address to listen on; default `127.0.0.1`. */
  localHost?: string;
  /** Port to listen on; 0 (default) lets the OS choose: read `tunnel.localPort`. */
  localPort?: number;
  reconnect?: Partial<ReconnectOptions>;
  /** How long a local connection accepted while the session is down waits for it; default 30 s. */
  connectTimeoutMs?: number;
  /**
   * Keep the SSM session from reaching the service's idle timeout by sending a little traffic.
   * Off by default: some organisations rely on that timeout.
   */
  keepAlive?: boolean;
  /** Period of the keepAlive traffic; default 30 s, well inside the shortest idle timeout (1 min). */
  keepAliveIntervalMs?: number;
  logger?: Logger;
  /** Replaces the SDK-backed session API (used by tests of the daemon and by embedders). */
  sessionApi?: SessionApi;
}
