import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/*
 * The destinations the benchmark forwards to, all on 127.0.0.1 in the driver process:
 * - transfer: a 16-byte request (uint64 BE bytes to send back, uint64 BE bytes that will be
 *   uploaded), then it streams the download while counting the upload, and writes one DONE byte
 *   once both are complete;
 * - echo: every byte back;
 * - banner: one byte as soon as a connection is accepted, like servers that speak first (SSH, MySQL).
 */

export const TRANSFER_REQUEST_SIZE = 16;
export const DONE_BYTE = 0x2e;
/** Reused for every write of bulk data: generating bytes must not be what the benchmark measures. */
export const BULK_CHUNK = randomBytes(64 * 1024);

export interface BenchDestinations {
  transferPort: number;
  echoPort: number;
  bannerPort: number;
  close(): Promise<void>;
}

interface Listening {
  port: number;
  close(): Promise<void>;
}

function listen(onSocket: (socket: Socket) => void): Promise<Listening> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    onSocket(socket);
  });
  // Many connections arrive at once in the idle and parallel scenarios.
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** Writes `count` bytes of BULK_CHUNK with backpressure, then calls `done`. */
function streamBulk(socket: Socket, count: number, done: () => void): void {
  let left = count;
  const writeMore = (): void => {
    while (left > 0) {
      const size = Math.min(left, BULK_CHUNK.length);
      left -= size;
      if (!socket.write(size === BULK_CHUNK.length ? BULK_CHUNK : BULK_CHUNK.subarray(0, size))) {
        socket.once('drain', writeMore);
        return;
      }
    }
    done();
  };
  writeMore();
}

function serveTransfer(socket: Socket): void {
  let request = Buffer.alloc(0);
  let uploadExpected = -1;
  let uploaded = 0;
  let downloadSent = false;
  const finishIfComplete = (): void => {
    if (downloadSent && uploaded >= uploadExpected) socket.write(Buffer.of(DONE_BYTE));
  };
  const onData = (chunk: Buffer): void => {
    if (uploadExpected >= 0) {
      uploaded += chunk.length;
      if (uploaded === uploadExpected) finishIfComplete();
      return;
    }
    request = Buffer.concat([request, chunk]);
    if (request.length < TRANSFER_REQUEST_SIZE) return;
    const download = Number(request.readBigUInt64BE(0));
    uploadExpected = Number(request.readBigUInt64BE(8));
    uploaded = request.length - TRANSFER_REQUEST_SIZE;
    streamBulk(socket, download, () => {
      downloadSent = true;
      finishIfComplete();
    });
  };
  socket.on('data', onData);
  socket.on('end', () => socket.end());
}

export async function startDestinations(): Promise<BenchDestinations> {
  const transfer = await listen(serveTransfer);
  const echo = await listen((socket) => socket.pipe(socket));
  const banner = await listen((socket) => {
    socket.write(Buffer.of(DONE_BYTE));
    socket.resume();
    socket.on('end', () => socket.end());
  });
  return {
    transferPort: transfer.port,
    echoPort: echo.port,
    bannerPort: banner.port,
    close: async () => {
      await Promise.all([transfer.close(), echo.close(), banner.close()]);
    },
  };
}
