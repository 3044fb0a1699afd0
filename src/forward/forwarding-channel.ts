import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { formatHostPort } from '../util/net.js';

/** An in-order message from the agent, as the forwarders see it. */
export interface InboundMessage {
  payloadType: number;
  payload: Buffer;
}

/**
 * What a forwarder needs from a data channel. forward/ knows nothing of WebSockets: the channel
 * sequences, acknowledges and retransmits underneath.
 */
export interface ForwardingChannel {
  /** Sends Output bytes; false means the window is full: wait for 'drain'. */
  write(payload: Buffer): boolean;
  sendFlag(flag: number): void;
  /** Return false to hold a message unacknowledged until resumeDelivery(). */
  setInboundHandler(handler: (message: InboundMessage) => boolean): void;
  resumeDelivery(): void;
  /** Messages sent and not yet acknowledged by the agent. */
  readonly unacknowledgedCount: number;
  on(event: 'drain', listener: () => void): unknown;
  off(event: 'drain', listener: () => void): unknown;
}


/** How one local connection ended, for logs and status. */
export interface ConnectionSummary {
  id: number;
  remoteAddress: string;
  /** Bytes from the local client towards the destination. */
  bytesUp: number;
  /** Bytes from the destination to the local client. */
  bytesDown: number;
  durationMs: number;
  /** Set when the connection failed rather than closed normally. */
  error?: string;
  /** The failure's stable code where it has one: `ERR_DESTINATION_REFUSED`. */
  code?: string;
}

export interface ForwarderEvents {
  connectionClosed: [ConnectionSummary];
  /** The forwarding layer cannot go on (e.g. a corrupt smux stream); the session must be replaced. */
  fatal: [Error];
}

/**
 * A local connection as the forwarders use it: an accepted TCP or unix socket, one end of a stream
 * front end (`openStream`, `ssm-tunnel proxy`), or a duplex standing for a client socket (the SOCKS
 * proxy's, which holds its client's reply until the destination answers) with its address.
 */
export type LocalStream = Duplex & { readonly remoteAddress?: string | undefined; readonly remotePort?: number | undefined };

/** Per-connection bookkeeping shared by both forwarders. */
export class LocalConnection {
  readonly openedAt = Date.now();
  readonly remoteAddress: string;
  bytesUp = 0;
  bytesDown = 0;
  error: string | undefined;
  code: string | undefined;

  constructor(
    readonly id: number,
    readonly socket: LocalStream,
  ) {
    const { remoteAddress, remotePort } = socket;
    if (remoteAddress !== undefined) this.remoteAddress = formatHostPort(remoteAddress, remotePort ?? 0);
    else this.remoteAddress = socket instanceof Socket ? 'unix' : 'stream';
  }

  summary(): ConnectionSummary {
    const summary: ConnectionSummary = {
      id: this.id,
      remoteAddress: this.remoteAddress,
      bytesUp: this.bytesUp,
      bytesDown: this.bytesDown,
      durationMs: Date.now() - this.openedAt,
    };
    if (this.error !== undefined) summary.error = this.error;
    if (this.code !== undefined) summary.code = this.code;
    return summary;
  }
}
