import type { Logger } from 'pino';
import type { AwsConnectionOptions, SessionApi } from '../aws/session-api.js';
import type { TargetSpec } from '../aws/target-resolver.js';
import type { ReconnectOptions } from '../session/options.js';

export { DEFAULT_RECONNECT, type ReconnectOptions } from '../session/options.js';

/** A unix-domain socket to listen on instead of a TCP port. */
export interface LocalSocketOptions {
  /** The socket file. Its directory must not be writable by everyone (not /tmp). */
  path: string;
  /** Permission bits set on the socket file, e.g. `0o660`; default: as the process umask leaves them. */
  mode?: number;
}

export interface TunnelOptions extends AwsConnectionOptions {
  /**
   * Instance or managed node id; `name:<Name tag>`; or `{ tag: { Key: Value } }`. Names and tags are
   * looked up (online nodes only, exactly one must match) before each new session, so a replaced
   * node is picked up.
   */
  target: TargetSpec;
  /** Destination host as seen from the target; omit to reach a port on the target itself. */
  remoteHost?: string;
  remotePort: number;
  /**
   * Address to listen on; default `127.0.0.1`. `localhost` listens on both 127.0.0.1 and ::1 (the
   * same port); `::` on every IPv6 and IPv4 address.
   */
  localHost?: string;
  /** Port to listen on; 0 (default) lets the OS choose: read `tunnel.localPort`. */
  localPort?: number;
  /** Listen on a unix socket instead of TCP; localHost and localPort must then be left out. */
  localSocket?: LocalSocketOptions;
  /**
   * SSM sessions to spread connections over (each new connection goes to the least-loaded one);
   * default 1. More sessions lift the throughput ceiling the agent's pacing puts on each session.
   */
  sessions?: number;
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
