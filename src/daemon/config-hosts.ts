/*
 * Host and listen-address rules of the daemon config: syntax, loopback, and which
 * local bindings would collide.
 */
import { isIPv6 } from 'node:net';
import { isValidHost } from '../util/net.js';

export const HOST_EXPECTED = 'a hostname or an IPv4/IPv6 address (IPv6 without brackets)';

export { isValidHost } from '../util/net.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export const LISTEN_EXPECTED = 'a port number, "host:port" or "[ipv6]:port"';

/**
 * `9170` (on 127.0.0.1), `"host:port"` or `"[ipv6]:port"`; port 0–65535.
 * Returns undefined when `value` has none of these shapes or holds an invalid host or port.
 */
export function parseListenAddress(value: unknown): ListenAddress | undefined {
  if (typeof value === 'number') return isPort(value) ? { host: '127.0.0.1', port: value } : undefined;
  if (typeof value !== 'string') return undefined;
  if (/^\d+$/.test(value)) return parseListenAddress(Number(value));
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(value);
  if (match === null) return undefined;
  const bracketed = match[1];
  const host = bracketed ?? match[2] ?? '';
  const port = Number(match[3]);
  if (bracketed !== undefined ? !isIPv6(host) : !isValidHost(host)) return undefined;
  return isPort(port) ? { host, port } : undefined;
}

function isPort(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 65535;
}

/**
 * Whether listening on both would fail with EADDRINUSE (or steal each other's connections),
 * as far as can be told without resolving names: equal addresses, a wildcard covering the other,
 * `localhost` against a loopback literal. Port 0 never collides.
 */
export function bindingsCollide(a: ListenAddress, b: ListenAddress): boolean {
  if (a.port !== b.port || a.port === 0) return false;
  const x = canonicalHost(a.host);
  const y = canonicalHost(b.host);
  if (x === y) return true;
  return covers(x, y) || covers(y, x);
}

function covers(wide: string, other: string): boolean {
  // Node listens dual-stack on `::`, so it takes the port for IPv4 too.
  if (wide === '::') return true;
  if (wide === '0.0.0.0') return !isIPv6(other);
  if (wide === 'localhost') return other === '127.0.0.1' || other === '::1';
  return false;
}

/** Lower-case, no trailing dot, IPv6 in its shortest form, so equal addresses compare equal. */
function canonicalHost(host: string): string {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (!isIPv6(name) || name.includes('%')) return name;
  return new URL(`http://[${name}]/`).hostname.slice(1, -1);
}
