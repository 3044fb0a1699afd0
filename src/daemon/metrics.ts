/*
 * GET /metrics: the tunnels' counters in the Prometheus text exposition format, version 0.0.4.
 */
import { isReady, type TunnelStatus } from './tunnel-status.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type MetricType = 'gauge' | 'counter';

interface MetricFamily {
  name: string;
  type: MetricType;
  help: string;
  samples: (tunnel: TunnelStatus) => { labels?: Record<string, string>; value: number }[];
}

const FAMILIES: readonly MetricFamily[] = [
  {
    name: 'ssm_tunnel_up',
    type: 'gauge',
    help: 'Whether the tunnel has a ready SSM session (1) or not (0).',
    samples: (t) => [{ value: isReady(t) ? 1 : 0 }],
  },
  {
    name: 'ssm_tunnel_connections_open',
    type: 'gauge',
    help: 'Local connections being forwarded now.',
    samples: (t) => [{ value: t.openConnections }],
  },
  {
    name: 'ssm_tunnel_connections_waiting',
    type: 'gauge',
    help: 'Local connections waiting for a session to come up.',
    samples: (t) => [{ value: t.waitingConnections }],
  },
  {
    name: 'ssm_tunnel_connections_total',
    type: 'counter',
    help: 'Local connections accepted.',
    samples: (t) => [{ value: t.totalConnections }],
  },
  {
    name: 'ssm_tunnel_connections_failed_total',
    type: 'counter',
    help: 'Local connections that failed (destination refused, no session in time, errors).',
    samples: (t) => [{ value: t.failedConnections }],
  },
  {
    name: 'ssm_tunnel_bytes_total',
    type: 'counter',
    help: 'Bytes forwarded; direction "up" is local clients to the destination, "down" the reverse.',
    samples: (t) => [
      { labels: { direction: 'up' }, value: t.bytesUp },
      { labels: { direction: 'down' }, value: t.bytesDown },
    ],
  },
  {
    name: 'ssm_tunnel_reconnects_total',
    type: 'counter',
    help: 'New SSM sessions started after the first one was lost.',
    samples: (t) => [{ value: t.reconnects }],
  },
  {
    name: 'ssm_tunnel_proxy_destinations',
    type: 'gauge',
    help: 'Destinations a socks tunnel has a session for now.',
    samples: (t) => (t.kind === 'socks' ? [{ value: t.destinations.length }] : []),
  },
  {
    name: 'ssm_tunnel_proxy_destination_connections_open',
    type: 'gauge',
    help: "Connections open through one destination's session of a socks tunnel.",
    samples: (t) => t.destinations.map((d) => ({ labels: { destination: d.destination }, value: d.openConnections })),
  },
  {
    name: 'ssm_tunnel_resumes_total',
    type: 'counter',
    help: 'WebSocket drops survived by resuming the same session.',
    samples: (t) => [{ value: t.resumes }],
  },
];

/** The exposition of every tunnel's metrics, one family after another, each with HELP and TYPE. */
export function renderMetrics(tunnels: readonly TunnelStatus[]): string {
  const lines: string[] = [];
  for (const family of FAMILIES) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const tunnel of tunnels) {
      for (const sample of family.samples(tunnel)) {
        lines.push(`${family.name}${labelSet({ tunnel: tunnel.name, ...sample.labels })} ${sample.value}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

function labelSet(labels: Record<string, string>): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return `{${pairs.join(',')}}`;
}

/** Label values escape backslash, double quote and line feed (format 0.0.4). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
