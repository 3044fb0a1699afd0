import { isValidHost } from '../util/net.js';
import { targetSpecProblem } from '../aws/target-resolver.js';
import { InvalidOptionError } from '../errors.js';
import type { ListenTarget } from './local-listener.js';
import { DEFAULT_RECONNECT, type SessionOptions } from '../session/options.js';
import type { TunnelOptions } from './options.js';

/** A tunnel's options: what each of its sessions needs, plus where it listens and how many sessions. */
export interface ResolvedTunnelOptions extends SessionOptions {
  listen: ListenTarget;
  sessions: number;
}

function fail(name: string, expected: string, got: unknown): never {
  throw new InvalidOptionError(`openTunnel: ${name} must be ${expected}, got ${typeof got === 'number' ? String(got) : (JSON.stringify(got) ?? String(got))}`);
}

function port(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 65535) {
    fail(name, `an integer ${min}–65535`, value);
  }
  return value;
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0)) fail(name, 'a positive number', value);
  return value;
}

/** More sessions than this would be a configuration mistake, not a throughput gain. */
const MAX_SESSIONS = 64;
/** Linux's sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

function listenTarget(options: TunnelOptions): ListenTarget {
  const { localSocket } = options;
  if (localSocket === undefined) {
    const host = options.localHost ?? '127.0.0.1';
    if (typeof host !== 'string' || !isValidHost(host)) fail('localHost', 'a host name or IP address', host);
    return { kind: 'tcp', host, port: port('localPort', options.localPort ?? 0, 0) };
  }
  if (options.localHost !== undefined || options.localPort !== undefined) {
    fail('localSocket', 'given without localHost and localPort (a tunnel listens on a unix socket or on TCP, not both)', localSocket);
  }
  if (typeof localSocket !== 'object' || localSocket === null) fail('localSocket', 'an object with path and optional mode', localSocket);
  const { path, mode } = localSocket;
  if (typeof path !== 'string' || path === '' || Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES || path.includes('\0')) {
    fail('localSocket.path', `a file path of 1–${MAX_SOCKET_PATH_BYTES} bytes`, path);
  }
  if (mode !== undefined && (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o777)) {
    fail('localSocket.mode', 'permission bits 0–0o777 such as 0o660', mode);
  }
  return { kind: 'unix', path, mode };
}

/** Checks every option and fills in defaults; each error names the option and the value given. */
export function resolveTunnelOptions(options: TunnelOptions): ResolvedTunnelOptions {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  const { target, remoteHost } = options;
  const targetProblem = targetSpecProblem(target);
  if (targetProblem !== undefined) {
    fail('target', `an instance or managed node id such as "i-0123456789abcdef0", "name:<Name tag>" or { tag: { Key: Value } } (${targetProblem})`, target);
  }
  if (remoteHost !== undefined && (typeof remoteHost !== 'string' || !isValidHost(remoteHost))) {
    fail('remoteHost', 'a host name or IP address', remoteHost);
  }
  const sessions = options.sessions ?? 1;
  if (typeof sessions !== 'number' || !Number.isInteger(sessions) || sessions < 1 || sessions > MAX_SESSIONS) {
    fail('sessions', `an integer 1–${MAX_SESSIONS}`, sessions);
  }
  const reconnect = { ...DEFAULT_RECONNECT, ...options.reconnect };
  positive('reconnect.initialDelayMs', reconnect.initialDelayMs);
  positive('reconnect.maxDelayMs', reconnect.maxDelayMs);
  if (typeof reconnect.factor !== 'number' || !(reconnect.factor >= 1)) fail('reconnect.factor', 'a number ≥ 1', reconnect.factor);
  if (typeof reconnect.maxRetries !== 'number' || !(reconnect.maxRetries >= 0)) fail('reconnect.maxRetries', 'a number ≥ 0', reconnect.maxRetries);
  if (options.keepAlive !== undefined && typeof options.keepAlive !== 'boolean') fail('keepAlive', 'a boolean', options.keepAlive);
  const listen = listenTarget(options);
  return {
    target,
    remoteHost,
    remotePort: port('remotePort', options.remotePort, 1),
    localPort: listen.kind === 'tcp' ? listen.port : 0,
    listen,
    sessions,
    reconnect,
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs ?? 30_000),
    keepAlive: options.keepAlive ?? false,
    keepAliveIntervalMs: positive('keepAliveIntervalMs', options.keepAliveIntervalMs ?? 30_000),
  };
}
