import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { PatternSource, PatternVerifier } from './pattern.js';
import { decodeTransferHeader, DestinationBehaviour, DONE_BYTE, TRANSFER_HEADER_SIZE, type TransferHeader } from './transfer-header.js';

/*
 * The destination of every checked connection, on 127.0.0.1: reads the transfer header, checks
 * the upload against the pattern byte by byte, streams the download pattern with backpressure, and
 * records what it saw per connection id. Connections whose first bytes are not a header are
 * recorded too: all their bytes count as corrupted.
 */

export interface DestinationRecord {
  connectionId: number;
  uploadExpected: number;
  uploadReceived: number;
  uploadCorrupted: number;
  /** Download bytes the socket accepted (written towards the agent). */
  downloadSent: number;
  closed: boolean;
}

const WRITE_CHUNK = 64 * 1024;

export class CheckedDestination {
  private readonly records = new Map<number, DestinationRecord>();
  private readonly sockets = new Set<Socket>();
  private readonly stalled = new Set<() => void>();
  /** Bytes of connections that never showed a valid header. */
  private garbageBytes = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<CheckedDestination> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => resolve());
    });
    const destination = new CheckedDestination(server, (server.address() as AddressInfo).port);
    server.on('connection', (socket) => destination.accept(socket));
    return destination;
  }

  record(connectionId: number): DestinationRecord | undefined {
    return this.records.get(connectionId);
  }

  /** Bytes received on connections that never showed a valid header: corrupted or misrouted. */
  get unidentifiedBytes(): number {
    return this.garbageBytes;
  }

  /** Connections currently open at the destination. */
  get openConnections(): number {
    return this.sockets.size;
  }

  /** Lets every stalled connection read and write again. */
  releaseStalled(): void {
    for (const release of [...this.stalled]) release();
    this.stalled.clear();
  }

  /** Forgets finished records (between repetitions, so memory stays flat over a long soak). */
  forget(connectionId: number): void {
    this.records.delete(connectionId);
  }

  async close(): Promise<void> {
    this.releaseStalled();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    const onHeaderBytes = (chunk: Buffer): void => {
      pending = Buffer.concat([pending, chunk]);
      if (pending.length < TRANSFER_HEADER_SIZE) return;
      socket.off('data', onHeaderBytes);
      const header = decodeTransferHeader(pending);
      if (header === undefined) {
        this.garbageBytes += pending.length;
        socket.on('data', (more: Buffer) => (this.garbageBytes += more.length));
        socket.destroy();
        return;
      }
      this.serve(socket, header, pending.subarray(TRANSFER_HEADER_SIZE));
    };
    socket.on('data', onHeaderBytes);
    socket.on('close', () => this.sockets.delete(socket));
  }

  private serve(socket: Socket, header: TransferHeader, firstBytes: Buffer): void {
    const record: DestinationRecord = {
      connectionId: header.connectionId,
      uploadExpected: header.upload,
      uploadReceived: 0,
      uploadCorrupted: 0,
      downloadSent: 0,
      closed: false,
    };
    this.records.set(header.connectionId, record);
    const upload = new PatternVerifier(header.connectionId, 'up', header.upload);
    const download = new PatternSource(
      header.connectionId,
      'down',
      header.behaviour === DestinationBehaviour.closeMidStream ? Math.min(header.param, header.download) : header.download,
    );
    let downloadDone = false;
    let doneSent = false;
    const finishIfComplete = (): void => {
      if (doneSent || !downloadDone || !upload.complete || socket.destroyed) return;
      doneSent = true;
      socket.write(Buffer.of(DONE_BYTE));
    };
    const take = (chunk: Buffer): void => {
      const extra = upload.push(chunk);
      upload.addUnexpected(extra.length);
      record.uploadReceived = upload.received;
      record.uploadCorrupted = upload.corrupted;
      finishIfComplete();
    };
    const writeDownload = (): void => {
      while (download.remaining > 0 && !socket.destroyed) {
        const slice = download.next(WRITE_CHUNK);
        record.downloadSent += slice.length;
        if (!socket.write(slice)) {
          socket.once('drain', writeDownload);
          return;
        }
      }
      downloadDone = true;
      if (header.behaviour === DestinationBehaviour.closeMidStream) socket.end();
      else finishIfComplete();
    };
    socket.on('end', () => socket.end());
    socket.on('close', () => {
      record.closed = true;
    });
    const start = (): void => {
      socket.on('data', take);
      if (firstBytes.length > 0) take(firstBytes);
      socket.resume();
      writeDownload();
    };
    if (header.behaviour === DestinationBehaviour.stall) {
      // Stop reading at once: what the client uploads piles up in the socket and in the agent.
      socket.pause();
      const release = (): void => {
        this.stalled.delete(release);
        start();
      };
      this.stalled.add(release);
      socket.once('close', () => this.stalled.delete(release));
      return;
    }
    start();
  }
}
