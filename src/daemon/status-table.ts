/*
 * Plain-text tables for the terminal: the tunnels a config would run (`check`) and the daemon's
 * live status (`status`).
 */
import { formatTarget } from '../aws/target-resolver.js';
import type { TunnelDefinition } from './config.js';
import { formatHostPort } from '../util/net.js';
import type { DaemonStatus, TunnelStatus } from './tunnel-status.js';

/** Columns padded to their widest cell, two spaces apart; no trailing spaces. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

function listen(t: TunnelDefinition): string {
  if (t.localSocket !== undefined) {
    const { path, mode } = t.localSocket;
    return mode === undefined ? `unix:${path}` : `unix:${path} (mode ${mode.toString(8).padStart(4, '0')})`;
  }
  const port = t.localPort ?? 0;
  return `${formatHostPort(t.localHost ?? '127.0.0.1', port)}${port === 0 ? ' (any free port)' : ''}${t.exposed ? ' (not loopback)' : ''}`;
}

/** The first session's id, and how many more of a pool are up. */
function session(t: TunnelStatus): string {
  const others = t.sessions.filter((s) => s.sessionId !== null && s.sessionId !== t.sessionId).length;
  return `${t.sessionId ?? '-'}${others > 0 ? ` (+${others})` : ''}`;
}

function remote(host: string | null | undefined, port: number): string {
  return host ? formatHostPort(host, port) : `(target):${port}`;
}

/** name, listen, target, remote: what `check` prints. */
export function definitionsTable(tunnels: readonly TunnelDefinition[]): string {
  return formatTable(
    ['NAME', 'LISTEN', 'TARGET', 'REMOTE'],
    tunnels.map((t) => [
      t.name,
      listen(t),
      t.sessions !== undefined && t.sessions > 1 ? `${formatTarget(t.target)} (${t.sessions} sessions)` : formatTarget(t.target),
      t.socks !== undefined ? `(socks proxy${t.socks.allow === undefined ? '' : `: ${t.socks.allow.join(', ')}`})` : remote(t.remoteHost, t.remotePort),
    ]),
  );
}

/** One row per tunnel of GET /status, then the last errors of the tunnels that have one. */
export function statusTable(status: DaemonStatus): string {
  const table = formatTable(
    ['NAME', 'STATE', 'LOCAL', 'TARGET', 'REMOTE', 'SESSION', 'OPEN', 'TOTAL', 'UP', 'DOWN', 'RECONNECTS', 'RESUMES'],
    status.tunnels.map((t) => [
      t.name,
      t.state,
      t.localSocket === null ? formatHostPort(t.local.host, t.local.port) : `unix:${t.localSocket}`,
      t.target,
      t.kind === 'socks' ? `(socks: ${t.destinations.length} destinations)` : remote(t.remote.host, t.remote.port),
      t.kind === 'socks' ? `${t.sessions.length} sessions` : session(t),
      String(t.openConnections),
      String(t.totalConnections),
      formatBytes(t.bytesUp),
      formatBytes(t.bytesDown),
      String(t.reconnects),
      String(t.resumes),
    ]),
  );
  const errors = status.tunnels.filter((t) => t.lastError !== null).map((t) => `${t.name}: last error: ${t.lastError}\n`);
  return errors.length === 0 ? table : `${table}\n${errors.join('')}`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB"; whole bytes below 1 KiB (a rate of 4.995 B/s reads "5 B"). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}
