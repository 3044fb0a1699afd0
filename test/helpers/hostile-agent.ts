import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { SessionApi } from '../../src/index.js';
import {
  decodeAcknowledgement,
  decodeClientMessage,
  decodeOpenDataChannel,
  encodeHandshakeComplete,
  encodeHandshakeRequest,
  MessageFlags,
  MessageType,
  PayloadType,
  type DecodedClientMessage,
} from '../../src/protocol/index.js';
import { acknowledgementFrame, messageFrame } from './wire-frames.js';

/*
 * A server that plays the SSM service and agent just far enough to get a real client through the
 * handshake (docs/protocol.md §8), and then sends whatever a test tells it to: floods, frames
 * that are too big, frames that lie about their length. It keeps no reliability of its own; it
 * records what the client acknowledged and sent.
 */

export const HOSTILE_AGENT_VERSION = '3.3.1142.0';

export class HostileAgent {
  /** Sequence numbers of our messages the client acknowledged. */
  readonly acknowledged = new Set<number>();
  /** How often each sequence number was acknowledged (duplicates are acknowledged again). */
  readonly acknowledgements = new Map<number, number>();
  /** Client stream messages, in arrival order. */
  readonly fromClient: DecodedClientMessage[] = [];
  /** Data-channel sockets opened so far (the first, then one per resume). */
  sockets = 0;
  /** Tokens handed out by startSession / resumeSession. */
  readonly tokens: string[] = [];
  /** Sessions the client started (each gets its own handshake). */
  sessionsStarted = 0;
  private newSessionToken: string | undefined;
  private readonly server: WebSocketServer;
  private current: WebSocket | undefined;
  private nextSequence = 0;
  private handshakeDone = false;

  private constructor(server: WebSocketServer) {
    this.server = server;
    server.on('connection', (ws) => this.accept(ws));
  }

  static async start(): Promise<HostileAgent> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1024 * 1024 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    return new HostileAgent(server);
  }

  get streamUrl(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/data-channel/hostile-session`;
  }

  /** A SessionApi that sends the client here. */
  get sessionApi(): SessionApi {
    const token = (): string => {
      const value = `hostile-token-${randomUUID()}`;
      this.tokens.push(value);
      return value;
    };
    return {
      // A fake service on loopback: its plain ws: StreamUrl is trusted as the emulator's is.
      endpoint: `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`,
      startSession: () => {
        this.newSessionToken = token();
        return Promise.resolve({ sessionId: `hostile-session-${this.tokens.length}`, streamUrl: this.streamUrl, tokenValue: this.newSessionToken });
      },
      resumeSession: () => Promise.resolve({ tokenValue: token(), streamUrl: this.streamUrl }),
      terminateSession: () => Promise.resolve(),
    };
  }

  get handshakeCompleted(): boolean {
    return this.handshakeDone;
  }

  /** The sequence number the client expects next from us. */
  get sequence(): number {
    return this.nextSequence;
  }

  /** An output_stream_data frame with the next (or a given) sequence number. */
  output(payload: Buffer, options: { sequenceNumber?: number; payloadType?: number } = {}): Buffer {
    const sequenceNumber = options.sequenceNumber ?? this.nextSequence++;
    return messageFrame({
      messageType: MessageType.OutputStreamData,
      sequenceNumber,
      flags: sequenceNumber === 0 ? MessageFlags.Syn : MessageFlags.None,
      payloadType: options.payloadType ?? PayloadType.Output,
      payload,
    });
  }

  /** Sends raw bytes as one binary WebSocket message on the current socket. */
  sendRaw(frame: Buffer): Promise<void> {
    const ws = this.current;
    if (ws === undefined) return Promise.reject(new Error('no client connected'));
    return new Promise((resolve, reject) => ws.send(frame, { binary: true }, (error) => (error ? reject(error) : resolve())));
  }

  /** Stops reading the client's socket: what the client sends piles up in its own buffers. */
  stopReading(): void {
    this.current?.pause();
  }

  async close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(ws: WebSocket): void {
    this.sockets += 1;
    this.current = ws;
    ws.on('error', () => undefined);
    ws.on('message', (data: Buffer, isBinary) => {
      // The first message is the OpenDataChannel text frame (docs/protocol.md §4.1); a resumed
      // socket carries on where the last one stopped, a new session starts with a handshake.
      if (!isBinary) {
        if (decodeOpenDataChannel(data).tokenValue !== this.newSessionToken) return;
        this.sessionsStarted += 1;
        this.nextSequence = 0;
        this.handshakeDone = false;
        void this.sendRaw(this.handshakeRequest());
        return;
      }
      this.onClientFrame(data);
    });
  }

  private handshakeRequest(): Buffer {
    const payload = encodeHandshakeRequest({
      agentVersion: HOSTILE_AGENT_VERSION,
      requestedClientActions: [
        { actionType: 'SessionType', actionParameters: { SessionType: 'Port', Properties: { portNumber: '5432', type: 'LocalPortForwarding' } } },
      ],
    });
    return this.output(payload, { payloadType: PayloadType.HandshakeRequest });
  }

  private onClientFrame(frame: Buffer): void {
    const message = decodeClientMessage(frame);
    if (message.messageType === MessageType.Acknowledge) {
      const sequence = decodeAcknowledgement(message.payload).acknowledgedMessageSequenceNumber;
      this.acknowledged.add(sequence);
      this.acknowledgements.set(sequence, (this.acknowledgements.get(sequence) ?? 0) + 1);
      return;
    }
    if (message.messageType !== MessageType.InputStreamData) return;
    this.fromClient.push(message);
    void this.sendRaw(acknowledgementFrame(message));
    if (message.payloadType === PayloadType.HandshakeResponse && !this.handshakeDone) {
      this.handshakeDone = true;
      void this.sendRaw(this.output(encodeHandshakeComplete({ handshakeTimeToComplete: 1_000_000, customerMessage: '' }), { payloadType: PayloadType.HandshakeComplete }));
    }
  }
}
