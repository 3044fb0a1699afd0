import type { Logger } from 'pino';
import type { AwsConnectionOptions, SessionApi } from '../aws/session-api.js';
import { targetSpecProblem, type TargetSpec } from '../aws/target-resolver.js';
import { InvalidOptionError } from '../errors.js';
import { DEFAULT_RECONNECT, type ReconnectOptions, type SessionOptions } from '../session/options.js';
import { isValidHost } from '../util/net.js';
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
  const { target } = options;
  const targetProblem = targetSpecProblem(target);
  if (targetProblem !== undefined) fail('target', `an instance or managed node id, "name:<Name tag>", { tag: { Key: Value } } or { ecs: … } (${targetProblem})`, target);
  const localHost = options.localHost ?? '127.0.0.1';
  if (typeof localHost !== 'string' || !isValidHost(localHost)) fail('localHost', 'a host name or IP address', localHost);
  const localPort = options.localPort ?? 1080;
  if (typeof localPort !== 'number' || !Number.isInteger(localPort) || localPort < 0 || localPort > 65535) fail('localPort', 'an integer 0–65535', localPort);
  const connectTimeoutMs = duration('connectTimeoutMs', options.connectTimeoutMs, 20_000);
  const reconnect = { ...DEFAULT_RECONNECT, ...options.reconnect };
  duration('reconnect.initialDelayMs', reconnect.initialDelayMs, 1);
  duration('reconnect.maxDelayMs', reconnect.maxDelayMs, 1);
  if (typeof reconnect.factor !== 'number' || !(reconnect.factor >= 1)) fail('reconnect.factor', 'a number ≥ 1', reconnect.factor);
  if (typeof reconnect.maxRetries !== 'number' || !(reconnect.maxRetries >= 0)) fail('reconnect.maxRetries', 'a number ≥ 0', reconnect.maxRetries);
  if (options.keepAlive !== undefined && typeof options.keepAlive !== 'boolean') fail('keepAlive', 'a boolean', options.keepAlive);
  // What every destination's session shares; remoteHost and remotePort are set per request.
  const session: SessionOptions = {
    target,
    remoteHost: undefined,
    remotePort: 0,
    localPort: 0,
    reconnect,
    keepAlive: options.keepAlive ?? false,
    keepAliveIntervalMs: duration('keepAliveIntervalMs', options.keepAliveIntervalMs, 30_000),
    connectTimeoutMs,
  };
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
