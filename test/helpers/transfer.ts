import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { streamRandom } from './destinations.js';

export function connectTo(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends `payload`, reads until `expected` bytes came back, then closes. */
export async function roundTrip(port: number, payload: Buffer, host = '127.0.0.1'): Promise<Buffer> {
  const socket = await connectTo(port, host);
  const chunks: Buffer[] = [];
  let received = 0;
  return new Promise((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= payload.length) {
        socket.end();
        resolve(Buffer.concat(chunks));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => {
      if (received < payload.length) reject(new Error(`connection closed after ${received} of ${payload.length} bytes`));
    });
    socket.write(payload);
  });
}

/**
 * Sends `size` random bytes on an open connection to an echo destination and expects exactly them
 * back; the connection stays open.
 */
export async function echoRoundTrip(socket: Socket, size = 64 * 1024): Promise<void> {
  const sent = randomBytes(size);
  const received: Buffer[] = [];
  let length = 0;
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      received.push(chunk);
      length += chunk.length;
      if (length < size) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve();
    };
    const onClose = (): void => reject(new Error(`the connection closed after ${length} of ${size} bytes`));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(sent);
  });
  if (!Buffer.concat(received).equals(sent)) throw new Error(`the ${size} bytes came back altered`);
}

/** One new connection through `port` to an echo destination: an echoRoundTrip, then closed. */
export async function echoThrough(port: number, size?: number): Promise<void> {
  const socket = await connectTo(port);
  try {
    await echoRoundTrip(socket, size);
  } finally {
    socket.destroy();
  }
}

export interface BulkResult {
  sentSha256: string;
  received: number;
  receivedSha256: string;
}

/**
 * One connection to a bulkServer through `port`: asks for `download` bytes and uploads `upload`
 * random bytes at the same time, then half-closes and waits for the server to finish.
 */
export async function bulkTransfer(port: number, upload: number, download: number): Promise<BulkResult> {
  const socket = await connectTo(port);
  const hash = createHash('sha256');
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      hash.update(chunk);
      if (received === download) resolve();
    });
    socket.on('error', reject);
    socket.on('close', () => (received === download ? resolve() : reject(new Error(`closed after ${received} of ${download} bytes`))));
    if (download === 0) resolve();
  });
  const header = Buffer.alloc(8);
  header.writeBigUInt64BE(BigInt(download));
  socket.write(header);
  const sentSha256 = await streamRandom(socket, upload);
  await done;
  // smux has no half-close (docs/forwarding.md §4.3): end only once everything came back.
  socket.end();
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { sentSha256, received, receivedSha256: hash.digest('hex') };
}

export { randomBytes };
