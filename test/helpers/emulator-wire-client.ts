import { randomUUID } from 'node:crypto';
import { ResumeSessionCommand, SSMClient, StartSessionCommand } from '@aws-sdk/client-ssm';
import { WebSocket, type RawData } from 'ws';
import {
  decodeAcknowledgement,
  decodeClientMessage,
  encodeHandshakeResponse,
  encodeOpenDataChannel,
  MessageFlags,
  MessageType,
  PayloadType,
  SmuxCommand,
  SmuxFrameParser,
  type DecodedClientMessage,
  type SmuxFrame,
} from '../../src/protocol/index.js';
import { toBuffer } from '../../src/util/net.js';
import type { Emulator } from '../../src/emulator/index.js';
import { waitFor } from './wait.js';
import { acknowledgementFrame, messageFrame } from './wire-frames.js';

/*
 * A minimal data-channel client for wire-level tests of the emulator, built on the codecs and `ws`
 * only (never on our own client), so the emulator is checked independently of it. It records every
 * frame, acks the agent's stream messages (unless told not to), retransmits its own until acked,
 * and reassembles the agent's Output bytes in sequence order.
 */

export const WIRE_CLIENT_VERSION = '1.2.677.0';

export interface StartedSession {
  sessionId: string;
  streamUrl: string;
  tokenValue: string;
}

export function ssmClientFor(emulator: Emulator): SSMClient {
  return new SSMClient({ endpoint: emulator.endpoint, region: emulator.region, credentials: emulator.credentials, maxAttempts: 1 });
}

export async function startSession(
  emulator: Emulator,
  request: { target: string; portNumber: number; host?: string },
): Promise<StartedSession> {
  const ssm = ssmClientFor(emulator);
  try {
    const parameters: Record<string, string[]> = { portNumber: [String(request.portNumber)], localPortNumber: ['0'] };
    if (request.host !== undefined) parameters.host = [request.host];
    const response = await ssm.send(
      new StartSessionCommand({
        Target: request.target,
        DocumentName: request.host === undefined ? 'AWS-StartPortForwardingSession' : 'AWS-StartPortForwardingSessionToRemoteHost',
        Parameters: parameters,
      }),
    );
    return { sessionId: response.SessionId!, streamUrl: response.StreamUrl!, tokenValue: response.TokenValue! };
  } finally {
    ssm.destroy();
  }
}

export async function resumeSession(emulator: Emulator, sessionId: string): Promise<string | undefined> {
  const ssm = ssmClientFor(emulator);
  try {
    return (await ssm.send(new ResumeSessionCommand({ SessionId: sessionId }))).TokenValue;
  } finally {
    ssm.destroy();
  }
}

export interface WireClientOptions {
  clientVersion?: string;
  /** Send the `keepalive` ping before the OpenDataChannel frame, as the official client often does. */
  pingFirst?: boolean;
  /** Decides per agent stream message whether to ack it; default: ack all. */
  ack?: (message: DecodedClientMessage) => boolean;
  /** Resend unacked messages after this long; default 100 ms; 0 disables. */
  retransmitAfterMs?: number;
}

interface Unacked {
  frame: Buffer;
  sentAt: number;
}

export class WireClient {
  /** Every decodable frame from the agent, in arrival order (duplicates included). */
  readonly received: DecodedClientMessage[] = [];
  /** Frames that did not decode. */
  readonly undecodable: Buffer[] = [];
  /** Agent stream messages in sequence order, each once. */
  readonly delivered: DecodedClientMessage[] = [];
  /** Sequence numbers the agent acknowledged. */
  readonly acked = new Set<number>();
  closeCode: number | undefined;
  closeReason = '';
  private ws: WebSocket;
  private readonly options: WireClientOptions;
  private nextSequence = 0;
  private expected = 0;
  private readonly held = new Map<number, DecodedClientMessage>();
  private readonly unacked = new Map<number, Unacked>();
  private readonly sent = new Map<number, Buffer>();
  private timer: NodeJS.Timeout | undefined;
  private closedPromise: Promise<void>;

  private constructor(ws: WebSocket, options: WireClientOptions) {
    this.ws = ws;
    this.options = options;
    this.closedPromise = this.watch(ws);
    const after = options.retransmitAfterMs ?? 100;
    if (after > 0) {
      this.timer = setInterval(() => this.retransmit(after), 25);
      this.timer.unref();
    }
  }

  static async open(session: { streamUrl: string; tokenValue: string }, options: WireClientOptions = {}): Promise<WireClient> {
    const ws = await WireClient.dial(session.streamUrl, session.tokenValue, options);
    return new WireClient(ws, options);
  }

  private static async dial(streamUrl: string, tokenValue: string, options: WireClientOptions): Promise<WebSocket> {
    const ws = new WebSocket(streamUrl, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    if (options.pingFirst) ws.ping(Buffer.from('keepalive'));
    ws.send(
      encodeOpenDataChannel({
        messageSchemaVersion: '1.0',
        requestId: randomUUID(),
        tokenValue,
        clientId: randomUUID(),
        clientVersion: options.clientVersion ?? WIRE_CLIENT_VERSION,
      }),
    );
    return ws;
  }

  /** Reconnects with a new token, keeping all sequence state (docs/protocol.md §9.3). */
  async resume(streamUrl: string, tokenValue: string): Promise<void> {
    this.ws.terminate();
    await this.closedPromise;
    this.ws = await WireClient.dial(streamUrl, tokenValue, this.options);
    this.closeCode = undefined;
    this.closeReason = '';
    this.closedPromise = this.watch(this.ws);
    for (const entry of this.unacked.values()) this.writeFrame(entry.frame);
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Resolves when the socket closes. */
  closed(): Promise<void> {
    return this.closedPromise;
  }

  /** Sends a sequenced input_stream_data message; returns its sequence number. */
  send(payloadType: number, payload: Buffer): number {
    const sequenceNumber = this.nextSequence++;
    const frame = messageFrame({ messageType: MessageType.InputStreamData, sequenceNumber, flags: MessageFlags.None, payloadType, payload });
    this.unacked.set(sequenceNumber, { frame, sentAt: Date.now() });
    this.sent.set(sequenceNumber, frame);
    this.writeFrame(frame);
    return sequenceNumber;
  }

  /** The frame of a message sent earlier (to send it again as a duplicate). */
  frameOf(sequenceNumber: number): Buffer {
    const frame = this.sent.get(sequenceNumber);
    if (frame === undefined) throw new Error(`wire client: no message ${sequenceNumber} was sent`);
    return frame;
  }

  /** Sends Output in ≤ 1024-byte messages, as the official client does. */
  sendOutput(bytes: Buffer): void {
    for (let offset = 0; offset < bytes.length; offset += 1024) this.send(PayloadType.Output, bytes.subarray(offset, offset + 1024));
  }

  sendFlag(flag: number): number {
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(flag);
    return this.send(PayloadType.Flag, payload);
  }

  /** Writes bytes as one binary WebSocket message, whatever they are. */
  sendRaw(bytes: Buffer | string): void {
    this.ws.send(bytes, { binary: typeof bytes !== 'string' });
  }

  acknowledge(message: DecodedClientMessage): void {
    this.writeFrame(acknowledgementFrame(message));
  }

  /** Waits for the HandshakeRequest, answers it, waits for HandshakeComplete; returns both. */
  async handshake(): Promise<{ request: DecodedClientMessage; complete: DecodedClientMessage }> {
    const request = await this.waitForDelivered((m) => m.payloadType === PayloadType.HandshakeRequest, 'HandshakeRequest');
    this.send(
      PayloadType.HandshakeResponse,
      encodeHandshakeResponse({
        clientVersion: this.options.clientVersion ?? WIRE_CLIENT_VERSION,
        processedClientActions: [{ actionType: 'SessionType', actionStatus: 1, actionResult: null, error: '' }],
        errors: [],
      }),
    );
    const complete = await this.waitForDelivered((m) => m.payloadType === PayloadType.HandshakeComplete, 'HandshakeComplete');
    return { request, complete };
  }

  /** Agent Output bytes in sequence order. */
  outputBytes(): Buffer {
    return Buffer.concat(this.delivered.filter((m) => m.payloadType === PayloadType.Output).map((m) => m.payload));
  }

  /** smux frames in the agent's Output byte stream. */
  smuxFrames(): SmuxFrame[] {
    return new SmuxFrameParser().push(this.outputBytes());
  }

  /** Bytes of every smux PSH frame on `streamId` in the agent's Output. */
  streamData(streamId: number): Buffer {
    return Buffer.concat(this.smuxFrames().filter((f) => f.cmd === SmuxCommand.PSH && f.streamId === streamId).map((f) => f.data));
  }

  async waitForDelivered(match: (message: DecodedClientMessage) => boolean, what: string, timeoutMs = 10_000): Promise<DecodedClientMessage> {
    await this.until(() => this.delivered.some(match), what, timeoutMs);
    return this.delivered.find(match)!;
  }

  async waitForReceived(match: (message: DecodedClientMessage) => boolean, what: string, timeoutMs = 10_000): Promise<DecodedClientMessage> {
    await this.until(() => this.received.some(match), what, timeoutMs);
    return this.received.find(match)!;
  }

  until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return waitFor(condition, `wire client: ${what}`, timeoutMs);
  }

  close(): void {
    clearInterval(this.timer);
    this.ws.terminate();
  }

  private watch(ws: WebSocket): Promise<void> {
    ws.on('message', (data: RawData) => this.onFrame(toBuffer(data)));
    ws.on('error', () => undefined);
    return new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve();
      });
    });
  }

  private writeFrame(frame: Buffer): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(frame, { binary: true });
  }

  private retransmit(afterMs: number): void {
    const now = Date.now();
    for (const entry of this.unacked.values()) {
      if (now - entry.sentAt < afterMs) continue;
      entry.sentAt = now;
      this.writeFrame(entry.frame);
    }
  }

  private onFrame(frame: Buffer): void {
    let message: DecodedClientMessage;
    try {
      message = decodeClientMessage(frame);
    } catch {
      this.undecodable.push(Buffer.from(frame));
      return;
    }
    this.received.push(message);
    if (message.messageType === MessageType.Acknowledge) {
      const sequenceNumber = decodeAcknowledgement(message.payload).acknowledgedMessageSequenceNumber;
      this.acked.add(sequenceNumber);
      this.unacked.delete(sequenceNumber);
      return;
    }
    if (message.messageType !== MessageType.OutputStreamData) return;
    if (!(this.options.ack?.(message) ?? true)) return;
    this.acknowledge(message);
    if (message.sequenceNumber < this.expected) return;
    this.held.set(message.sequenceNumber, { ...message, payload: Buffer.from(message.payload) });
    for (let next = this.held.get(this.expected); next !== undefined; next = this.held.get(this.expected)) {
      this.held.delete(this.expected);
      this.delivered.push(next);
      this.expected += 1;
    }
  }
}

/**
 * Resumes `client` whenever its socket drops, as the official client does (docs/protocol.md §9.2),
 * until the session has no token any more or `stop()` is called.
 */
export function keepResuming(emulator: Emulator, client: WireClient, session: StartedSession): { stop: () => void; resumes: () => number } {
  let stopped = false;
  let resumes = 0;
  void (async () => {
    while (!stopped) {
      await client.closed();
      if (stopped) return;
      try {
        const token = await resumeSession(emulator, session.sessionId);
        if (token === undefined || stopped) return;
        await client.resume(session.streamUrl, token);
        resumes += 1;
      } catch {
        return;
      }
    }
  })();
  return {
    stop: () => {
      stopped = true;
    },
    resumes: () => resumes,
  };
}
