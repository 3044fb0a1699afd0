/*
 * Checks on what an HTTP request line and Host header claim, shared by the daemon's status
 * endpoint and the emulator's servers. Imports only Node built-ins.
 */
import { isIP } from 'node:net';

/**
 * The path of an origin-form request target (`/status?x=1` → `/status`), or undefined for
 * anything else: absolute-form (`http://host/`), authority-form (`host:443`), `*`, or a target
 * that does not parse. Servers answer 400 to those instead of letting `new URL()` throw.
 */
export function originFormPath(target: string | undefined): string | undefined {
  if (target === undefined || !target.startsWith('/') || target.startsWith('//')) return undefined;
  try {
    return new URL(target, 'http://origin-form.invalid').pathname;
  } catch {
    return undefined;
  }
}

/**
 * Whether a `Host` header names this server the way a local client would: an IP address,
 * `localhost`, or the host it listens on. A web page that rebinds its own DNS name to 127.0.0.1
 * sends that name, so a browser cannot be used to read a loopback-only endpoint.
 */
export function isExpectedHostHeader(header: string | undefined, listenHost: string): boolean {
  if (header === undefined || header === '') return false;
  let hostname: string;
  try {
    hostname = new URL(`http://${header}/`).hostname;
  } catch {
    return false;
  }
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  const name = bare.toLowerCase().replace(/\.$/, '');
  return isIP(bare) !== 0 || name === 'localhost' || name === listenHost.toLowerCase().replace(/\.$/, '');
}
