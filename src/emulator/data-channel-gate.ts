import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import { decodeOpenDataChannel } from '../protocol/index.js';
import type { OpenDataChannel } from '../protocol/index.js';
import type { EmulatedSession, SessionRegistry } from './session-registry.js';

/*
 * The door of the emulated data channel: WebSocket upgrades at /v1/data-channel/<sessionId>, and the
 * first data frame, which must be the OpenDataChannel text frame carrying an unused token of that
 * session (docs/protocol.md §4.1). Anything else is closed with 1008 and a reason; a valid channel is
 * handed to the DataChannelHandler (the agent), which owns it from then on.
 */

export interface DataChannelHandler {
  /**
   * Takes over `ws` right after its OpenDataChannel frame was accepted; later frames go to the handler.
   * `socket` is the TCP connection under it, for batching writes.
   */
  attach(session: EmulatedSession, ws: WebSocket, open: OpenDataChannel, socket: Socket | undefined): void;
  /**
   * The service ended the session (TerminateSession, a test, shutdown): close its data channel if it
   * has one. Called once per session, also for sessions that never had a channel.
   */
  terminate(session: EmulatedSession, reason: string): void;
}

export interface DataChannelGateOptions {
  sessions: SessionRegistry;
  /** Read at each open, so a handler installed after start-up is used. */
  handler: () => DataChannelHandler | undefined;
  logger: Logger;
  onRefused: (sessionId: string | undefined, reason: string) => void;
  /** How long a socket may stay open without sending its OpenDataChannel frame. */
  openFrameTimeoutMs: number;
}

const DATA_CHANNEL_PATH = /^\/v1\/data-channel\/([^/]+)$/;
/** Data channel messages carry at most 1024 payload bytes plus a 120-byte header (docs/protocol.md §4.2). */
const MAX_FRAME_BYTES = 64 * 1024;
/** RFC 6455 §5.5: a close frame's reason is at most 123 bytes. */
const MAX_CLOSE_REASON_BYTES = 123;
const POLICY_VIOLATION = 1008;
const INTERNAL_ERROR = 1011;
const GOING_AWAY = 1001;

export class DataChannelGate {
  private readonly server = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });

  constructor(private readonly options: DataChannelGateOptions) {}

  /** For the HTTP server's 'upgrade' event. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(request.url ?? '/', 'http://emulator').pathname;
    const sessionId = DATA_CHANNEL_PATH.exec(path)?.[1];
    if (sessionId === undefined) {
      this.options.logger.warn({ path }, 'WebSocket upgrade refused: not a data channel path');
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const tcp = socket instanceof Socket ? socket : undefined;
    this.server.handleUpgrade(request, socket, head, (ws) => this.awaitOpenFrame(ws, sessionId, tcp));
  }

  /** Closes every socket still open (the handler has been told to end its sessions first) and waits for them. */
  async close(): Promise<void> {
    const sockets = [...this.server.clients];
    for (const ws of sockets) {
      if (ws.readyState === WebSocket.OPEN) ws.close(GOING_AWAY, 'emulator stopped');
    }
    await Promise.all(sockets.filter((ws) => ws.readyState !== WebSocket.CLOSED).map((ws) => once(ws, 'close')));
    this.server.close();
  }

  private awaitOpenFrame(ws: WebSocket, sessionId: string, socket: Socket | undefined): void {
    const { logger } = this.options;
    ws.on('error', (error) => logger.warn({ sessionId, err: error }, 'data channel socket error'));
    if (this.options.sessions.get(sessionId) === undefined) {
      this.refuse(ws, sessionId, `unknown session ${sessionId}`);
      return;
    }
    // Control frames (the client's `keepalive` ping, docs/protocol.md §4.3) may come first; ws answers them itself.
    const timer = setTimeout(() => {
      this.refuse(ws, sessionId, `no OpenDataChannel frame within ${this.options.openFrameTimeoutMs} ms`);
    }, this.options.openFrameTimeoutMs);
    ws.once('close', () => clearTimeout(timer));
    ws.once('message', (data, isBinary) => {
      clearTimeout(timer);
      this.openChannel(ws, sessionId, data, isBinary, socket);
    });
  }

  private openChannel(ws: WebSocket, sessionId: string, data: RawData, isBinary: boolean, socket: Socket | undefined): void {
    const frame = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (isBinary) {
      this.refuse(ws, sessionId, `first frame must be the OpenDataChannel text frame, got a binary frame of ${frame.length} bytes`);
      return;
    }
    let open: OpenDataChannel;
    try {
      open = decodeOpenDataChannel(frame);
    } catch (error) {
      this.refuse(ws, sessionId, `invalid OpenDataChannel frame: ${(error as Error).message}`);
      return;
    }
    const handler = this.options.handler();
    if (handler === undefined) {
      this.refuse(ws, sessionId, 'no data channel handler (agent) is installed', INTERNAL_ERROR);
      return;
    }
    const check = this.options.sessions.consumeToken(sessionId, open.tokenValue);
    if ('refused' in check) {
      this.refuse(ws, sessionId, check.refused);
      return;
    }
    const { session } = check;
    const { sessions, logger } = this.options;
    sessions.markConnected(session);
    ws.once('close', () => sessions.markDisconnected(session));
    logger.info(
      { sessionId, requestId: open.requestId, clientId: open.clientId, clientVersion: open.clientVersion },
      'data channel opened',
    );
    try {
      handler.attach(session, ws, open, socket);
    } catch (error) {
      logger.error({ sessionId, err: error }, 'data channel handler failed to attach');
      ws.close(INTERNAL_ERROR, closeReason(`data channel handler failed: ${(error as Error).message}`));
    }
  }

  private refuse(ws: WebSocket, sessionId: string | undefined, reason: string, code = POLICY_VIOLATION): void {
    this.options.logger.warn({ sessionId, code, reason }, 'data channel refused');
    this.options.onRefused(sessionId, reason);
    ws.close(code, closeReason(reason));
  }
}

function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES) return reason;
  // No character is shorter than a byte, so this cut is already near the limit.
  let cut = reason.slice(0, MAX_CLOSE_REASON_BYTES - 3);
  while (Buffer.byteLength(cut) > MAX_CLOSE_REASON_BYTES - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}
