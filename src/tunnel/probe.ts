import { connect } from 'node:net';
import type { TunnelOptions } from './options.js';
import { Tunnel } from './tunnel.js';

/*
 * Pre-flight of one tunnel: start its session once, open one connection to the destination, say
 * what happened, end the session. The agent never confirms a successful dial
 * (docs/forwarding.md §4.2): a connection it has not refused within the quiet period counts as
 * reachable.
 */

/**
 * - `reachable`: the destination answered, or the agent kept the connection open
 * - `refused`: the agent could not connect to the destination
 * - `denied`: the service or the agent does not allow this session or destination
 * - `failed`: no session (unknown target, node offline, credentials, network, …)
 */
export type ProbeOutcome = 'reachable' | 'refused' | 'denied' | 'failed';

export interface ProbeResult {
  outcome: ProbeOutcome;
  /** In words, for a person: what was seen. */
  detail: string;
  /** The node the session ran on, when one was started. */
  targetId?: string;
}

export interface ProbeOptions {
  /** How long an open connection must stay unrefused to count as reachable; default 2 s. */
  quietMs?: number;
}

const DENIED = /AccessDenied|forbidden|not authorized/i;
const REFUSED = /Unable to connect|ConnectToPortError|refused/i;

/** The verdict an error or a session's end reason stands for. */
function outcomeOf(reason: string): ProbeOutcome {
  return DENIED.test(reason) ? 'denied' : REFUSED.test(reason) ? 'refused' : 'failed';
}

/** Probes the destination of `options` through one fresh session; never throws for what it finds. */
export async function probeTunnel(options: TunnelOptions, probe: ProbeOptions = {}): Promise<ProbeResult> {
  const { localSocket: _socket, localHost: _host, localPort: _port, sessions: _sessions, ...rest } = options;
  let tunnel: Tunnel;
  try {
    tunnel = await Tunnel.start({ ...rest, keepAlive: false, reconnect: { ...options.reconnect, maxRetries: 0 } });
  } catch (error) {
    return { outcome: 'failed', detail: (error as Error).message };
  }
  // Basic mode: a refused destination ends the session, which may happen before the probe connects.
  const ended = new SessionEnd(tunnel);
  try {
    await tunnel.ready();
  } catch (error) {
    const err = error as Error;
    ended.stop();
    await tunnel.close();
    return { outcome: outcomeOf(`${err.name} ${err.message}`), detail: `no session: ${err.message}` };
  }
  const targetId = tunnel.stats.targetId;
  try {
    const { outcome, detail } = await probeConnection(tunnel, ended, probe.quietMs ?? 2000);
    return targetId === undefined ? { outcome, detail } : { outcome, detail, targetId };
  } finally {
    ended.stop();
    await tunnel.close();
  }
}

/** Watches for the first session to end; `onEnd` hears it, at once if it already has. */
class SessionEnd {
  private reason: string | undefined;
  private listener: ((reason: string) => void) | undefined;
  private readonly onState = (state: string, detail?: string): void => {
    if (state !== 'reconnecting' || this.reason !== undefined) return;
    this.reason = detail ?? 'the session ended';
    this.listener?.(this.reason);
  };

  constructor(private readonly tunnel: Tunnel) {
    tunnel.on('state', this.onState);
  }

  onEnd(listener: (reason: string) => void): void {
    this.listener = listener;
    if (this.reason !== undefined) listener(this.reason);
  }

  stop(): void {
    this.listener = undefined;
    this.tunnel.off('state', this.onState);
  }
}

function probeConnection(tunnel: Tunnel, ended: SessionEnd, quietMs: number): Promise<Omit<ProbeResult, 'targetId'>> {
  return new Promise((settle) => {
    let settled = false;
    const socket = connect({ host: tunnel.localAddress.address, port: tunnel.localPort });
    const finish = (result: Omit<ProbeResult, 'targetId'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      tunnel.off('connectionClosed', onClosed);
      socket.destroy();
      settle(result);
    };
    const timer = setTimeout(() => finish({ outcome: 'reachable', detail: `the agent kept the connection open for ${quietMs} ms` }), quietMs);
    // Mux mode: a refused destination fails just this connection.
    const onClosed = ({ error }: { error?: string }): void => {
      if (error === undefined) finish({ outcome: 'reachable', detail: 'the destination accepted and closed the connection' });
      else finish({ outcome: outcomeOf(error), detail: error });
    };
    tunnel.on('connectionClosed', onClosed);
    ended.onEnd((reason) => finish({ outcome: outcomeOf(reason), detail: reason }));
    socket.once('data', () => finish({ outcome: 'reachable', detail: 'the destination answered' }));
    socket.on('error', () => {});
  });
}
