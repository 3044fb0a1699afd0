import type { ApiCallRecord, ChannelRefusal } from './emulator-record.js';
import type { SessionState } from './session-registry.js';

/*
 * What the emulated agent saw and did, as plain data for tests to assert on. The agent appends to
 * an `AgentSessionLog` as things happen; `Emulator.record` returns a deep copy merged with the
 * service's view (session state, API calls).
 */

export interface FlagRecord {
  name: string;
  value: number;
  at: Date;
}

/** One destination TCP connection: basic mode's (re)dials, or one mux stream. */
export interface ConnectionRecord {
  /** Basic mode: 1, 2, … per dial; mux mode: the smux stream id. */
  id: number;
  /** The address dialled (or attempted), `host:port`. */
  destination: string;
  openedAt: Date;
  closedAt?: Date;
  /** Client → destination. */
  bytesToDestination: number;
  /** Destination → client. */
  bytesFromDestination: number;
  /** Why the dial or the connection failed, if it did. */
  error?: string;
}

export interface WebSocketRecord {
  /** 1 for the first socket of the session, 2 after the first resume, … */
  index: number;
  openedAt: Date;
  closedAt?: Date;
  /** Who or what closed it: `client`, `fault: …`, `protocol error: …`, `session ended`, `replaced`. */
  closedBy?: string;
  /** The ClientVersion of its OpenDataChannel frame. */
  openClientVersion: string;
  framesFromClient: number;
  framesToClient: number;
  bytesFromClient: number;
  bytesToClient: number;
}

export interface ChannelClosedRecord {
  /** The `Output` text the client prints ('' when the client asked for the end). */
  output: string;
  reason: string;
  at: Date;
}

export interface FaultRecord {
  /** e.g. `drop toClient`, `close after 5 messages`, `refuse 127.0.0.1:5432`, `pause_publication`. */
  fault: string;
  at: Date;
}

export type PortMode = 'basic' | 'mux';

/** Everything the agent of one session recorded. */
export interface AgentSessionLog {
  agentVersion?: string;
  /** From the HandshakeResponse: what the agent's mode decision used. */
  clientVersion?: string;
  mode?: PortMode;
  smuxKeepAlive?: boolean;
  handshakeCompletedAt?: Date;
  /** Client stream messages acknowledged and dropped because the handshake was not complete (docs/protocol.md §8.5). */
  discardedBeforeHandshake: number;
  flags: FlagRecord[];
  connections: ConnectionRecord[];
  channelClosed: ChannelClosedRecord[];
  webSockets: WebSocketRecord[];
  protocolErrors: string[];
  faults: FaultRecord[];
  endReason?: string;
}

export function newAgentSessionLog(): AgentSessionLog {
  return { discardedBeforeHandshake: 0, flags: [], connections: [], channelClosed: [], webSockets: [], protocolErrors: [], faults: [] };
}

/** One session as the emulator as a whole saw it. */
export interface SessionRecord extends AgentSessionLog {
  sessionId: string;
  target: string;
  documentName: string;
  parameters: Record<string, string[]>;
  properties: Record<string, string>;
  /** The service's state of the session. */
  state: SessionState;
  startedAt: Date;
  endedAt?: Date;
}

export interface EmulatorRecordSnapshot {
  sessions: SessionRecord[];
  apiCalls: ApiCallRecord[];
  channelRefusals: ChannelRefusal[];
}

const MAX_LOG_ENTRIES = 10_000;

/** Appends, dropping the oldest entry past a bound, so a long benchmark cannot grow the record without end. */
export function appendBounded<T>(entries: T[], entry: T): void {
  entries.push(entry);
  if (entries.length > MAX_LOG_ENTRIES) entries.shift();
}
