import { createLogUpdate } from 'log-update';
import { createColors } from 'picocolors';
import type { ConnectionInfo, TunnelEvents, TunnelState, TunnelStats } from '../tunnel/tunnel.js';
import { formatBytes } from '../daemon/status-table.js';

export { formatBytes } from '../daemon/status-table.js';

/*
 * What a person sees on a terminal while a tunnel runs: one short, timestamped line per event they
 * care about (forwarding, connections with bytes and duration, resume/reconnect with the cause,
 * errors), and below them one status line rewritten in place. Built on the tunnel's events and
 * stats, never on its log lines, so anything with the same events (open, proxy, socks) can use it.
 * Only for a terminal: piped output and JSON logs never go through here.
 */

/** The part of a Tunnel the view needs; `proxy` and `socks` front ends can offer the same. */
export interface TunnelEventSource {
  on<K extends 'state' | 'connection' | 'connectionClosed'>(event: K, listener: (...args: TunnelEvents[K]) => void): unknown;
  off<K extends 'state' | 'connection' | 'connectionClosed'>(event: K, listener: (...args: TunnelEvents[K]) => void): unknown;
  readonly stats: Pick<TunnelStats, 'state' | 'sessionId' | 'openConnections' | 'totalConnections' | 'bytesUp' | 'bytesDown'> & {
    /** Shown instead of `session <id>` by sources with many sessions (the SOCKS proxy: one per destination). */
    sessionSummary?: string;
  };
}

export interface TerminalViewOptions {
  /** The terminal (stderr); it must be a TTY. */
  stream: NodeJS.WriteStream;
  /** Colors on; off for NO_COLOR (see `colorsWanted` in terminal.ts). */
  color: boolean;
  /** How often the status line (and its rates) is refreshed; default 1 s. */
  refreshMs?: number;
  /** Clock for timestamps; tests and replays may pass their own. */
  now?: () => Date;
}

export interface TerminalView {
  /** Follows a tunnel from now on: its events become lines, its stats the status line. */
  attach(source: TunnelEventSource): void;
  /** A plain event line ("Forwarding …"). */
  info(text: string): void;
  warn(text: string): void;
  error(text: string): void;
  /** Stops following `source` (if attached), stops the refresh and leaves the last status line on screen. */
  close(): void;
}

/** `350ms`, `4.2s`, `3m05s`, `2h03m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const totalSeconds = Math.round(ms / 1000);
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) return `${minutes}m${String(totalSeconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

function clock(date: Date): string {
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** Renders events as lines and keeps the status line below them; attach to a tunnel with `attach`. */
export function createTerminalView(options: TerminalViewOptions): TerminalView {
  let source: TunnelEventSource | undefined;
  const { stream } = options;
  const colors = createColors(options.color);
  const now = options.now ?? (() => new Date());
  const status = createLogUpdate(stream, { showCursor: true });
  let closed = false;
  let previous = { at: Date.now(), up: 0, down: 0 };
  let rates = { up: 0, down: 0 };
  let lastState: TunnelState | undefined;

  const statusLine = (): string => {
    if (source === undefined) return '';
    const stats = source.stats;
    const state = stats.state === 'ready' ? colors.green(stats.state) : stats.state === 'closed' || stats.state === 'closing' ? colors.dim(stats.state) : colors.yellow(stats.state);
    return [
      `${colors.bold('●')} ${state}`,
      stats.sessionSummary ?? `session ${stats.sessionId ?? '–'}`,
      `connections ${stats.openConnections} open / ${stats.totalConnections} total`,
      `↑ ${formatBytes(stats.bytesUp)} ${colors.dim(`(${formatBytes(rates.up)}/s)`)}`,
      `↓ ${formatBytes(stats.bytesDown)} ${colors.dim(`(${formatBytes(rates.down)}/s)`)}`,
    ].join('  ');
  };
  const render = (): void => {
    if (!closed) status(statusLine());
  };
  const line = (text: string): void => {
    if (closed) {
      stream.write(`${colors.dim(clock(now()))} ${text}\n`);
      return;
    }
    status.clear();
    stream.write(`${colors.dim(clock(now()))} ${text}\n`);
    render();
  };
  const sample = (): void => {
    if (source === undefined) return;
    const { bytesUp, bytesDown } = source.stats;
    const at = Date.now();
    const seconds = Math.max(0.001, (at - previous.at) / 1000);
    rates = { up: Math.max(0, (bytesUp - previous.up) / seconds), down: Math.max(0, (bytesDown - previous.down) / seconds) };
    previous = { at, up: bytesUp, down: bytesDown };
    render();
  };

  const onState = (state: TunnelState, detail?: string): void => {
    const before = lastState;
    lastState = state;
    if (state === 'resuming') line(colors.yellow(`connection to SSM lost (${detail ?? 'no reason given'}); resuming the session`));
    else if (state === 'reconnecting') line(colors.yellow(`session lost (${detail ?? 'no reason given'}); starting a new one`));
    else if (state === 'ready' && detail === 'resumed') line(colors.green('session resumed'));
    else if (state === 'ready' && before === 'reconnecting') line(colors.green(`new session ${source?.stats.sessionId ?? detail ?? ''}`));
    else render();
  };
  const onConnection = (info: ConnectionInfo): void => line(`${colors.cyan(`#${info.id}`)} opened from ${info.remoteAddress}`);
  const onClosed = (summary: TunnelEvents['connectionClosed'][0]): void => {
    const traffic = `↑ ${formatBytes(summary.bytesUp)} ↓ ${formatBytes(summary.bytesDown)} in ${formatDuration(summary.durationMs)}`;
    if (summary.error === undefined) line(`${colors.cyan(`#${summary.id}`)} closed  ${traffic}`);
    else line(colors.red(`#${summary.id} failed: ${summary.error}  ${traffic}`));
  };

  const timer = setInterval(sample, options.refreshMs ?? 1000);
  timer.unref();
  render();

  return {
    attach: (tunnel) => {
      source = tunnel;
      lastState = tunnel.stats.state;
      tunnel.on('state', onState);
      tunnel.on('connection', onConnection);
      tunnel.on('connectionClosed', onClosed);
      render();
    },
    info: (text) => line(text),
    warn: (text) => line(colors.yellow(text)),
    error: (text) => line(colors.red(text)),
    close: () => {
      if (closed) return;
      clearInterval(timer);
      source?.off('state', onState);
      source?.off('connection', onConnection);
      source?.off('connectionClosed', onClosed);
      render();
      closed = true;
      status.done();
    },
  };
}
