import { isIP } from 'node:net';
import { DEFAULT_RECONNECT, type ReconnectOptions, type TunnelOptions } from './options.js';

export interface ResolvedTunnelOptions {
  target: string;
  remoteHost: string | undefined;
  remotePort: number;
  localHost: string;
  localPort: number;
  reconnect: ReconnectOptions;
  connectTimeoutMs: number;
  keepAlive: boolean;
  keepAliveIntervalMs: number;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

export function isValidHost(host: string): boolean {
  return isIP(host) !== 0 || HOSTNAME.test(host);
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function fail(name: string, expected: string, got: unknown): never {
  throw new TypeError(`openTunnel: ${name} must be ${expected}, got ${typeof got === 'number' ? String(got) : (JSON.stringify(got) ?? String(got))}`);
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

/** Checks every option and fills in defaults; each error names the option and the value given. */
export function resolveTunnelOptions(options: TunnelOptions): ResolvedTunnelOptions {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  const { target, remoteHost } = options;
  if (typeof target !== 'string' || target.trim() === '' || /\s/.test(target) || target.length > 400) {
    fail('target', 'an instance or managed node id such as "i-0123456789abcdef0"', target);
  }
  if (remoteHost !== undefined && (typeof remoteHost !== 'string' || !isValidHost(remoteHost))) {
    fail('remoteHost', 'a host name or IP address', remoteHost);
  }
  const localHost = options.localHost ?? '127.0.0.1';
  if (typeof localHost !== 'string' || !isValidHost(localHost)) fail('localHost', 'a host name or IP address', localHost);
  const reconnect = { ...DEFAULT_RECONNECT, ...options.reconnect };
  positive('reconnect.initialDelayMs', reconnect.initialDelayMs);
  positive('reconnect.maxDelayMs', reconnect.maxDelayMs);
  if (typeof reconnect.factor !== 'number' || !(reconnect.factor >= 1)) fail('reconnect.factor', 'a number ≥ 1', reconnect.factor);
  if (typeof reconnect.maxRetries !== 'number' || !(reconnect.maxRetries >= 0)) fail('reconnect.maxRetries', 'a number ≥ 0', reconnect.maxRetries);
  if (options.keepAlive !== undefined && typeof options.keepAlive !== 'boolean') fail('keepAlive', 'a boolean', options.keepAlive);
  return {
    target,
    remoteHost,
    remotePort: port('remotePort', options.remotePort, 1),
    localHost,
    localPort: port('localPort', options.localPort ?? 0, 0),
    reconnect,
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs ?? 30_000),
    keepAlive: options.keepAlive ?? false,
    keepAliveIntervalMs: positive('keepAliveIntervalMs', options.keepAliveIntervalMs ?? 30_000),
  };
}
