import type { Logger } from 'pino';
import type { AwsConnectionOptions, SessionApi } from '../aws/session-api.js';
import type { TargetSpec } from '../aws/target-resolver.js';
import { InvalidOptionError } from '../errors.js';
import type { ReconnectOptions, SessionOptions } from '../session/options.js';
import { resolveTunnelOptions } from '../tunnel/resolve-options.js';
import { AllowList } from './allow-list.js';

export interface ProxyCredentials {
  username: string;
  password: string;
}

export interface ProxyOptions extends AwsConnectionOptions {
  /** The node every destination is reached through, as for tunnels (id, `name:<Name tag>` or tags). */
  target: TargetSpec;
  /** Address to listen on; default `127.0.0.1`. Anything but loopback is warned about. */
  localHost?: string;
  /** Port to listen on; default 1080; 0 lets the OS choose: read `proxy.localPort`. */
  localPort?: number;
  /**
   * Destinations allowed, `host:port` each: `*.internal:443`, `10.0.0.0/8:5432`, `[fd00::]/8:*`,
   * `db.example.com:*`. Default: every destination. Checked before any session starts.
   */
  allow?: string[];
  /** Require these from clients (SOCKS5 username/password, RFC 1929; HTTP `Proxy-Authorization: Basic`). */
  auth?: ProxyCredentials;
  /** A destination's session without connections for this long is ended; default 5 minutes. */
  idleTimeoutMs?: number;
  /** Destinations with a session at once; default 16. */
  maxSessions?: number;
  /** How long a request waits for its destination's session to come up; default 20 s. */
  connectTimeoutMs?: number;
  /**
   * How long a new destination's first connection waits for the agent to refuse it before the
   * client is told it is open (the agent never confirms a dial); default 1 s.
   */
  refusalWaitMs?: number;
  /** How long a client may take to send its SOCKS5 or HTTP request; default 10 s. */
  handshakeTimeoutMs?: number;
  reconnect?: Partial<ReconnectOptions>;
  keepAlive?: boolean;
  keepAliveIntervalMs?: number;
  logger?: Logger;
  /** Replaces the SDK-backed session API (used by tests of the daemon and by embedders). */
  sessionApi?: SessionApi;
}

export interface ResolvedProxyOptions {
  /** What every destination's session shares; remoteHost and remotePort are set per destination. */
  session: SessionOptions;
  localHost: string;
  localPort: number;
  allow: AllowList;
  auth: ProxyCredentials | undefined;
  idleTimeoutMs: number;
  maxSessions: number;
  connectTimeoutMs: number;
  refusalWaitMs: number;
  handshakeTimeoutMs: number;
}

/** More would be a configuration mistake: each session is a StartSession and a WebSocket. */
const MAX_SESSIONS_LIMIT = 256;

function fail(name: string, expected: string, got: unknown): never {
  throw new InvalidOptionError(`openProxy: ${name} must be ${expected}, got ${typeof got === 'number' ? String(got) : (JSON.stringify(got) ?? String(got))}`);
}

function duration(name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) fail(name, `a number of milliseconds ≥ ${min}`, value);
  return value;
}

export function resolveProxyOptions(options: ProxyOptions): ResolvedProxyOptions {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  const localHost = options.localHost ?? '127.0.0.1';
  const localPort = options.localPort ?? 1080;
  const connectTimeoutMs = duration('connectTimeoutMs', options.connectTimeoutMs, 20_000);
  let session: SessionOptions;
  try {
    // Checked as a tunnel's would be; the destination is filled in per request.
    const { auth: _auth, allow: _allow, ...shared } = options;
    const { listen: _listen, sessions: _sessions, ...checked } = resolveTunnelOptions({ ...shared, remotePort: 1, localHost, localPort, connectTimeoutMs, sessions: 1 });
    session = { ...checked, localPort: 0 };
  } catch (error) {
    throw new InvalidOptionError((error as Error).message.replace(/^openTunnel:/, 'openProxy:'), { cause: error });
  }
  const maxSessions = options.maxSessions ?? 16;
  if (typeof maxSessions !== 'number' || !Number.isInteger(maxSessions) || maxSessions < 1 || maxSessions > MAX_SESSIONS_LIMIT) {
    fail('maxSessions', `an integer 1–${MAX_SESSIONS_LIMIT}`, maxSessions);
  }
  const { auth } = options;
  if (auth !== undefined) {
    const valid = (text: unknown): boolean => typeof text === 'string' && text.length > 0 && Buffer.byteLength(text) <= 255;
    if (typeof auth !== 'object' || auth === null || !valid(auth.username) || !valid(auth.password)) {
      fail('auth', '{ username, password }, each 1–255 bytes (RFC 1929)', auth === null ? null : '(hidden)');
    }
  }
  return {
    session,
    localHost,
    localPort,
    allow: AllowList.parse(options.allow, 'openProxy: allow'),
    auth,
    idleTimeoutMs: duration('idleTimeoutMs', options.idleTimeoutMs, 5 * 60_000),
    maxSessions,
    connectTimeoutMs,
    refusalWaitMs: duration('refusalWaitMs', options.refusalWaitMs, 1000, 0),
    handshakeTimeoutMs: duration('handshakeTimeoutMs', options.handshakeTimeoutMs, 10_000),
  };
}
