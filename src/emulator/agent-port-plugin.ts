import type { Logger } from 'pino';
import type { ChannelOutput } from './agent-output.js';
import type { DestinationDialer } from './agent-destination.js';
import type { ConnectionRecord } from './record.js';

/** What a port plugin (basic or mux) gets from the agent session that runs it. */
export interface PortPluginContext {
  /** Where destination bytes, smux bytes and flags go. */
  output: ChannelOutput;
  dialer: DestinationDialer;
  /** The plugin can take client Output again after refusing it. */
  resumeDelivery(): void;
  /** The port session failed; `output` is the text the client prints. */
  fail(output: string): void;
  /** The port session ended without error. */
  complete(reason: string): void;
  /** Starts the record of one destination connection (or dial attempt). */
  openConnection(id: number, destination: string): ConnectionRecord;
  logger: Logger;
}

/** The Port plugin of the agent after the handshake (docs/forwarding.md §6.2, §4). */
export interface PortPlugin {
  /** A client Output payload. False means not ready: no ack, offered again after resumeDelivery(). */
  receive(payload: Buffer): boolean;
  /** The DisconnectToPort flag (docs/protocol.md §3.4). */
  disconnect(): void;
  /** Closes every destination connection and stops. */
  close(): void;
}

/** Bytes waiting in a destination socket above which client Output is refused until 'drain'. */
export const DESTINATION_WRITE_HIGH_WATER = 256 * 1024;
