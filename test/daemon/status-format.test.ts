import { describe, expect, it } from 'vitest';
import { parseConfig, type DaemonConfig } from '../../src/daemon/config.js';
import { escapeLabelValue, renderMetrics } from '../../src/daemon/metrics.js';
import { definitionsTable, formatBytes, formatTable, statusTable } from '../../src/daemon/status-table.js';
import type { TunnelStatus } from '../../src/daemon/tunnel-status.js';

function tunnel(overrides: Partial<TunnelStatus>): TunnelStatus {
  return {
    name: 'db',
    state: 'ready',
    since: '2025-01-01T00:00:00.000Z',
    local: { host: '127.0.0.1', port: 15432 },
    localSocket: null,
    target: 'i-0123456789abcdef0',
    targetId: 'i-0123456789abcdef0',
    remote: { host: 'db.internal', port: 5432 },
    sessionId: 'user-0123456789abcdef0',
    agentVersion: '3.3.1142.0',
    mode: 'mux',
    openConnections: 2,
    waitingConnections: 0,
    totalConnections: 7,
    failedConnections: 1,
    bytesUp: 1000,
    bytesDown: 2_500_000,
    reconnects: 3,
    resumes: 4,
    lastError: null,
    sessions: [{ state: 'ready', sessionId: 'user-0123456789abcdef0', targetId: 'i-0123456789abcdef0', openConnections: 2 }],
    kind: 'forward',
    destinations: [],
    ...overrides,
  };
}

describe('renderMetrics', () => {
  it('writes every family with HELP and TYPE, one sample per tunnel', () => {
    const text = renderMetrics([tunnel({}), tunnel({ name: 'web', state: 'reconnecting', openConnections: 0 })]);
    expect(text).toBe(
      [
        '# HELP ssm_tunnel_up Whether the tunnel has a ready SSM session (1) or not (0).',
        '# TYPE ssm_tunnel_up gauge',
        'ssm_tunnel_up{tunnel="db"} 1',
        'ssm_tunnel_up{tunnel="web"} 0',
        '# HELP ssm_tunnel_connections_open Local connections being forwarded now.',
        '# TYPE ssm_tunnel_connections_open gauge',
        'ssm_tunnel_connections_open{tunnel="db"} 2',
        'ssm_tunnel_connections_open{tunnel="web"} 0',
        '# HELP ssm_tunnel_connections_waiting Local connections waiting for a session to come up.',
        '# TYPE ssm_tunnel_connections_waiting gauge',
        'ssm_tunnel_connections_waiting{tunnel="db"} 0',
        'ssm_tunnel_connections_waiting{tunnel="web"} 0',
        '# HELP ssm_tunnel_connections_total Local connections accepted.',
        '# TYPE ssm_tunnel_connections_total counter',
        'ssm_tunnel_connections_total{tunnel="db"} 7',
        'ssm_tunnel_connections_total{tunnel="web"} 7',
        '# HELP ssm_tunnel_connections_failed_total Local connections that failed (destination refused, no session in time, errors).',
        '# TYPE ssm_tunnel_connections_failed_total counter',
        'ssm_tunnel_connections_failed_total{tunnel="db"} 1',
        'ssm_tunnel_connections_failed_total{tunnel="web"} 1',
        '# HELP ssm_tunnel_bytes_total Bytes forwarded; direction "up" is local clients to the destination, "down" the reverse.',
        '# TYPE ssm_tunnel_bytes_total counter',
        'ssm_tunnel_bytes_total{tunnel="db",direction="up"} 1000',
        'ssm_tunnel_bytes_total{tunnel="db",direction="down"} 2500000',
        'ssm_tunnel_bytes_total{tunnel="web",direction="up"} 1000',
        'ssm_tunnel_bytes_total{tunnel="web",direction="down"} 2500000',
        '# HELP ssm_tunnel_reconnects_total New SSM sessions started after the first one was lost.',
        '# TYPE ssm_tunnel_reconnects_total counter',
        'ssm_tunnel_reconnects_total{tunnel="db"} 3',
        'ssm_tunnel_reconnects_total{tunnel="web"} 3',
        '# HELP ssm_tunnel_proxy_destinations Destinations a socks tunnel has a session for now.',
        '# TYPE ssm_tunnel_proxy_destinations gauge',
        "# HELP ssm_tunnel_proxy_destination_connections_open Connections open through one destination's session of a socks tunnel.",
        '# TYPE ssm_tunnel_proxy_destination_connections_open gauge',
        '# HELP ssm_tunnel_resumes_total WebSocket drops survived by resuming the same session.',
        '# TYPE ssm_tunnel_resumes_total counter',
        'ssm_tunnel_resumes_total{tunnel="db"} 4',
        'ssm_tunnel_resumes_total{tunnel="web"} 4',
        '',
      ].join('\n'),
    );
  });

  it('escapes backslash, double quote and line feed in label values', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(renderMetrics([tunnel({ name: 'x"y' })])).toContain('ssm_tunnel_up{tunnel="x\\"y"} 1\n');
  });

  it("shows a socks tunnel's destinations and the connections through each", () => {
    const destinations = [
      { destination: 'db.internal:5432', state: 'ready', sessionId: 's-1', targetId: 'i-0123456789abcdef0', openConnections: 3 },
      { destination: '[fd00::1]:443', state: 'ready', sessionId: 's-2', targetId: 'i-0123456789abcdef0', openConnections: 0 },
    ];
    const text = renderMetrics([tunnel({ name: 'proxy', kind: 'socks', destinations })]);
    expect(text).toContain('ssm_tunnel_proxy_destinations{tunnel="proxy"} 2\n');
    expect(text).toContain('ssm_tunnel_proxy_destination_connections_open{tunnel="proxy",destination="db.internal:5432"} 3\n');
    expect(text).toContain('ssm_tunnel_proxy_destination_connections_open{tunnel="proxy",destination="[fd00::1]:443"} 0\n');
  });

  it('writes the families even with no tunnel', () => {
    expect(renderMetrics([]).split('\n').filter((line) => !line.startsWith('#'))).toEqual(['']);
  });
});

describe('tables', () => {
  it('pads columns to the widest cell and trims line ends', () => {
    expect(formatTable(['A', 'BB'], [['long', 'x'], ['s', '']])).toBe('A     BB\nlong  x\ns\n');
  });

  it('formats byte counts', () => {
    expect([0, 1023, 1024, 1536, 5 * 1024 ** 3].map(formatBytes)).toEqual(['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '5.0 GiB']);
  });

  it('shows the status of each tunnel and their last errors', () => {
    const text = statusTable({
      pid: 1,
      startedAt: '2025-01-01T00:00:00.000Z',
      configFile: 'tunnels.yaml',
      tunnels: [
        tunnel({}),
        tunnel({
          name: 'pool',
          localSocket: '/run/ssm-tunnel/db.sock',
          sessions: [
            { state: 'ready', sessionId: 'user-0123456789abcdef0', targetId: null, openConnections: 1 },
            { state: 'ready', sessionId: 'user-0123456789abcdef1', targetId: null, openConnections: 1 },
            { state: 'restarting', sessionId: null, targetId: null, openConnections: 0 },
          ],
        }),
        tunnel({ name: 'ui', state: 'unbound', sessions: [], local: { host: '::1', port: 8080 }, remote: { host: null, port: 80 }, sessionId: null, lastError: 'cannot listen' }),
      ],
    });
    expect(text).toBe(
      [
        'NAME  STATE    LOCAL                         TARGET               REMOTE            SESSION                      OPEN  TOTAL  UP      DOWN     RECONNECTS  RESUMES',
        'db    ready    127.0.0.1:15432               i-0123456789abcdef0  db.internal:5432  user-0123456789abcdef0       2     7      1000 B  2.4 MiB  3           4',
        'pool  ready    unix:/run/ssm-tunnel/db.sock  i-0123456789abcdef0  db.internal:5432  user-0123456789abcdef0 (+1)  2     7      1000 B  2.4 MiB  3           4',
        'ui    unbound  [::1]:8080                    i-0123456789abcdef0  (target):80       -                            2     7      1000 B  2.4 MiB  3           4',
        '',
        'ui: last error: cannot listen',
        '',
      ].join('\n'),
    );
  });

  it('lists the tunnels a config would run', () => {
    const parsed = parseConfig(
      [
        'tunnels:',
        '  - { name: db, target: i-1, remote: { host: db.internal, port: 5432 }, local: { port: 15432 } }',
        '  - { name: ui, target: i-2, remote: { port: 80 }, local: { host: "0.0.0.0", port: 0 } }',
      ].join('\n'),
      'tunnels.yaml',
    );
    const config = (parsed as { config: DaemonConfig }).config;
    expect(definitionsTable(config.tunnels)).toBe(
      [
        'NAME  LISTEN                                    TARGET  REMOTE',
        'db    127.0.0.1:15432                           i-1     db.internal:5432',
        'ui    0.0.0.0:0 (any free port) (not loopback)  i-2     (target):80',
        '',
      ].join('\n'),
    );
  });
});
