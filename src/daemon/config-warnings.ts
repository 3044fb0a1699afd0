/*
 * Warnings about a valid config that is still unsafe to run as written, printed by `check` and
 * logged by `up`: secrets others can read, and API traffic in clear text.
 */
import { stat } from 'node:fs/promises';
import { isLoopbackHost } from '../util/net.js';
import type { DaemonConfig } from './config-schema.js';

/** One line per problem; empty when there is none. */
export async function configWarnings(file: string, config: DaemonConfig): Promise<string[]> {
  const warnings: string[] = [];
  if (config.tunnels.some((tunnel) => tunnel.credentials !== undefined)) {
    const mode = await stat(file).then(
      (stats) => stats.mode,
      () => undefined,
    );
    // As ssh does for private keys: a secret in a file others can read is no longer a secret.
    if (mode !== undefined && (mode & 0o044) !== 0) {
      const bits = (mode & 0o777).toString(8).padStart(4, '0');
      warnings.push(`${file} holds credentials and is readable by ${(mode & 0o004) !== 0 ? 'every user' : 'its group'} (mode ${bits}); run chmod 600 ${file}`);
    }
  }
  const endpoints = new Set(config.tunnels.flatMap((tunnel) => (tunnel.endpoint === undefined ? [] : [tunnel.endpoint])));
  for (const endpoint of endpoints) {
    const warning = plainHttpEndpointWarning(endpoint);
    if (warning !== undefined) warnings.push(warning);
  }
  return warnings;
}

/** A warning for an `http:` endpoint off this machine: the signed requests and the session tokens they return travel in clear text. */
export function plainHttpEndpointWarning(endpoint: string): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || isLoopbackHost(url.hostname)) return undefined;
  return `endpoint ${url.origin} is plain http to another machine: session tokens travel in clear text, and StreamUrls it returns are refused unless they are wss:`;
}
