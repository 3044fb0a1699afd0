import { createHash, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A destination server on loopback for end-to-end tests; closes every socket on close(). */
export interface Destination {
  port: number;
  host: string;
  connections: number;
  close(): Promise<void>;
}

function serve(onSocket: (socket: Socket) => void, host = '127.0.0.1'): Promise<Destination> {
  const sockets = new Set<Socket>();
  const destination = { port: 0, host, connections: 0, close: async () => {} };
  const server: Server = createServer((socket) => {
    destination.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  return new Promise((resolve) => {
    server.listen(0, host, () => {
      destination.port = (server.address() as AddressInfo).port;
      destination.close = () =>
        new Promise<void>((done) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => done());
        });
      resolve(destination);
    });
  });
}

/** Echoes every byte back; ends when the peer ends. */
export function echoServer(host?: string): Promise<Destination> {
  return serve((socket) => socket.pipe(socket), host);
}

/**
 * Bidirectional bulk test peer: the client first sends an 8-byte header (uint64 BE: how many
 * random bytes it wants back), then the server streams that many bytes while hashing whatever the
 * client sends; once both directions are done it writes nothing more and reports the digests.
 */
export interface BulkRecord {
  received: number;
  receivedSha256: string;
  sentSha256: string;
}

export async function bulkServer(): Promise<Destination & { records: BulkRecord[] }> {
  const records: BulkRecord[] = [];
  const destination = await serve((socket) => {
    let header = Buffer.alloc(0);
    let started = false;
    const receivedHash = createHash('sha256');
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      if (!started) {
        header = Buffer.concat([header, chunk]);
        if (header.length < 8) return;
        started = true;
        const wanted = Number(header.readBigUInt64BE(0));
        const rest = header.subarray(8);
        received += rest.length;
        receivedHash.update(rest);
        streamRandom(socket, wanted).then((sentSha256) => {
          socket.once('end', () => {
            records.push({ received, receivedSha256: receivedHash.digest('hex'), sentSha256 });
            socket.end();
          });
          socket.resume();
        }, () => socket.destroy());
        return;
      }
      received += chunk.length;
      receivedHash.update(chunk);
    });
  });
  return Object.assign(destination, { records });
}

/** Writes `count` random bytes with backpressure; resolves with their sha256. */
export async function streamRandom(socket: Socket, count: number): Promise<string> {
  const hash = createHash('sha256');
  let left = count;
  while (left > 0) {
    const chunk = randomBytes(Math.min(64 * 1024, left));
    hash.update(chunk);
    left -= chunk.length;
    if (!socket.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        socket.once('drain', resolve);
        socket.once('close', () => reject(new Error('socket closed while writing')));
      });
    }
  }
  return hash.digest('hex');
}

/** What a sinkServer connection received, recorded once the peer closed it. */
export interface SinkRecord {
  received: number;
  sha256: string;
}

/** Reads and hashes everything each connection sends; records it when the connection closes. */
export async function sinkServer(): Promise<Destination & { records: SinkRecord[] }> {
  const records: SinkRecord[] = [];
  const destination = await serve((socket) => {
    const hash = createHash('sha256');
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      hash.update(chunk);
    });
    socket.on('close', () => records.push({ received, sha256: hash.digest('hex') }));
  });
  return Object.assign(destination, { records });
}

/** Answers the first bytes it receives with `answer`, then closes the connection (a server that turns a client away). */
export function answerAndCloseServer(answer: Buffer): Promise<Destination> {
  return serve((socket) => socket.once('data', () => socket.end(answer)));
}

/** A port on loopback with nothing listening (bound, then released). */
export async function closedPort(): Promise<number> {
  const destination = await serve(() => {});
  const port = destination.port;
  await destination.close();
  return port;
}
