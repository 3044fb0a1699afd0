/*
 * `ssm-tunnel check --connect`: every tunnel of a config probed once through a fresh session of its
 * own (started, one connection to the destination, ended), and the verdicts as a table.
 */
import { describeNetwork } from '../aws/network.js';
import { createSsmSessionApi } from '../aws/ssm-session-api.js';
import { formatTarget } from '../aws/target-resolver.js';
import { probeTunnel, type ProbeResult } from '../tunnel/probe.js';
import type { TunnelDefinition } from './config.js';
import { formatTable } from './status-table.js';

export interface PreflightResult extends ProbeResult {
  name: string;
}

/** Probes every tunnel at once; each gets its own SSM client, released afterwards. */
export async function preflightTunnels(tunnels: readonly TunnelDefinition[], options: { quietMs?: number } = {}): Promise<PreflightResult[]> {
  return Promise.all(
    tunnels.map(async (definition) => {
      const { name, exposed: _exposed, ...tunnel } = definition;
      const { region, profile, endpoint, credentials, proxy, caBundle } = tunnel;
      const api = createSsmSessionApi({ region, profile, endpoint, credentials: credentials && { ...credentials }, proxy, caBundle });
      try {
        return { name, ...(await probeTunnel({ ...tunnel, sessionApi: api }, options)) };
      } finally {
        api.destroy();
      }
    }),
  );
}

/** NAME, RESULT, NODE (what the target resolved to), DETAIL. */
export function preflightTable(results: readonly PreflightResult[], tunnels: readonly TunnelDefinition[]): string {
  return formatTable(
    ['NAME', 'RESULT', 'NODE', 'DETAIL'],
    results.map((result) => {
      const target = tunnels.find((t) => t.name === result.name)?.target;
      return [result.name, result.outcome, result.targetId ?? (target === undefined ? '-' : formatTarget(target)), result.detail];
    }),
  );
}

/** NAME, PROXY (redacted, and why), CA: what each tunnel's API calls and data channel go through. */
export async function networkTable(tunnels: readonly TunnelDefinition[]): Promise<string> {
  const rows = await Promise.all(
    tunnels.map(async (tunnel) => {
      const network = await describeNetwork(tunnel);
      return [tunnel.name, network.proxy, network.ca];
    }),
  );
  return formatTable(['NAME', 'PROXY', 'CA'], rows);
}
