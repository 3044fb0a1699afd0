/*
 * `ssm-tunnel check --connect`: every tunnel of a config probed once through a fresh session of its
 * own (started, one connection to the destination, ended), and the verdicts as a table.
 */
import { createSsmSessionApi } from '../aws/ssm-session-api.js';
import { formatTarget } from '../aws/target-resolver.js';
import { probeTunnel, type ProbeResult } from '../tunnel/probe.js';
import type { TunnelDefinition } from './config.js';
import { formatTable } from './status-table.js';

export interface PreflightResult extends ProbeResult {
  name: string;
}

/**
 * Probes every forwarding tunnel at once; each gets its own SSM client, released afterwards. A
 * `kind: socks` tunnel has no destination of its own to probe and is left out.
 */
export async function preflightTunnels(tunnels: readonly TunnelDefinition[], options: { quietMs?: number } = {}): Promise<PreflightResult[]> {
  return Promise.all(
    tunnels.filter((definition) => definition.socks === undefined).map(async (definition) => {
      const { name, exposed: _exposed, ...tunnel } = definition;
      const { region, profile, endpoint, credentials } = tunnel;
      const api = createSsmSessionApi({ region, profile, endpoint, credentials: credentials && { ...credentials } });
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
