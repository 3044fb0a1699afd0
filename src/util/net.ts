/*
 * Small address and data helpers every layer shares. Imports only Node built-ins.
 */
import { isIP, isIPv4, isIPv6 } from 'node:net';

/** `host:port`, with an IPv6 host in brackets (`[::1]:5432`), as URLs and ssh write it. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * True for hosts only this machine can reach: `localhost`, 127.0.0.0/8, `::1`, and IPv4-mapped
 * loopback (`::ffff:127.0.0.1`, or `::ffff:7f00:1` as URL parsing writes it). Brackets, letter case
 * and a trailing dot are ignored.
 */
export function isLoopbackHost(host: string): boolean {
  let name = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  name = name.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === 'localhost' || name === '::1' || name === '0:0:0:0:0:0:0:1') return true;
  if (isIPv4(name)) return name.startsWith('127.');
  if (!isIPv6(name)) return false;
  const mapped = /^(?:0{1,4}:){0,4}:?(?:0{0,4}:)?ffff:(.+)$/.exec(name)?.[1];
  if (mapped === undefined) return false;
  if (isIPv4(mapped)) return mapped.startsWith('127.');
  return /^7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(mapped);
}

// RFC 1123 labels; `_` is tolerated because private DNS zones use it.
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** A hostname (RFC 1123, optional trailing dot) or an IPv4/IPv6 literal (IPv6 without brackets). */
export function isValidHost(host: string): boolean {
  if (isIP(host) !== 0) return true;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  // Digits and dots only would be an IPv4 address, and this one is not valid (`10.0.0.256`, `10.1`).
  if (/^[\d.]+$/.test(name)) return false;
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => LABEL.test(label));
}

/** True for a URL to a loopback host (and of `protocol`, when given, e.g. `http:`); false for anything unparsable. */
export function isLoopbackUrl(url: string, protocol?: string): boolean {
  try {
    const parsed = new URL(url);
    return (protocol === undefined || parsed.protocol === protocol) && isLoopbackHost(parsed.hostname);
  } catch {
    return false;
  }
}

/** One Buffer from what a `ws` 'message' event delivers (a Buffer, fragments, or an ArrayBuffer). */
export function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
