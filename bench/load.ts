import { connect, type Socket } from 'node:net';
import { BULK_CHUNK, DONE_BYTE, TRANSFER_REQUEST_SIZE } from './destinations.js';

/*
 * Load generators run by the driver against a port: the destination itself (direct TCP) or a
 * tunnel's local port. Each is bounded by a deadline and measures with the monotonic clock.
 */

const PING_SIZE = 64;

/** Rejects with a message naming `what` when `promise` takes longer than `timeoutMs`. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function now(): bigint {
  return process.hrtime.bigint();
}

function secondsSince(start: bigint): number {
  return Number(now() - start) / 1e9;
}

export function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function closeSocket(socket: Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once('close', () => resolve());
    socket.end();
    // A peer that never closes its side must not hold the benchmark.
    setTimeout(() => socket.destroy(), 5_000).unref();
  });
}

/** Writes `count` bytes of BULK_CHUNK, waiting for 'drain' when the socket asks. */
async function upload(socket: Socket, count: number): Promise<void> {
  let left = count;
  while (left > 0) {
    const size = Math.min(left, BULK_CHUNK.length);
    left -= size;
    if (!socket.write(size === BULK_CHUNK.length ? BULK_CHUNK : BULK_CHUNK.subarray(0, size))) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          socket.off('close', onClose);
          resolve();
        };
        const onClose = (): void => {
          socket.off('drain', onDrain);
          reject(new Error(`the connection closed with ${left + size} bytes still to upload`));
        };
        socket.once('drain', onDrain);
        socket.once('close', onClose);
      });
    }
  }
}

/**
 * One transfer-server exchange: asks for `download` bytes while uploading `uploadBytes`, and
 * resolves once all of the download and the server's DONE byte (sent after the whole upload
 * arrived) are in.
 */
async function transfer(port: number, download: number, uploadBytes: number): Promise<void> {
  const socket = await connectTo(port);
  try {
    const expected = download + 1;
    let received = 0;
    const complete = new Promise<void>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received === expected) {
          if (chunk[chunk.length - 1] !== DONE_BYTE) reject(new Error('the transfer server ended with a byte other than DONE'));
          else resolve();
        } else if (received > expected) {
          reject(new Error(`received ${received} bytes, expected ${expected}`));
        }
      });
      socket.once('error', reject);
      socket.once('close', () => reject(new Error(`the connection closed after ${received} of ${expected} bytes`)));
    });
    const request = Buffer.alloc(TRANSFER_REQUEST_SIZE);
    request.writeBigUInt64BE(BigInt(download), 0);
    request.writeBigUInt64BE(BigInt(uploadBytes), 8);
    socket.write(request);
    await Promise.all([upload(socket, uploadBytes), complete]);
  } finally {
    await closeSocket(socket);
  }
}

export interface TransferTiming {
  bytes: number;
  seconds: number;
}

export async function timeDownload(port: number, bytes: number): Promise<TransferTiming> {
  const start = now();
  await transfer(port, bytes, 0);
  return { bytes, seconds: secondsSince(start) };
}

export async function timeUpload(port: number, bytes: number): Promise<TransferTiming> {
  const start = now();
  await transfer(port, 0, bytes);
  return { bytes, seconds: secondsSince(start) };
}

/** `connections` downloads of `bytesEach` at once; the time is until the last one finishes. */
export async function timeParallelDownload(port: number, connections: number, bytesEach: number): Promise<TransferTiming> {
  const start = now();
  await Promise.all(Array.from({ length: connections }, () => transfer(port, bytesEach, 0)));
  return { bytes: connections * bytesEach, seconds: secondsSince(start) };
}

/** Round-trip times in nanoseconds of `count` 64-byte messages on one echo connection, after `warmup` untimed ones. */
export async function timePingPong(port: number, count: number, warmup: number): Promise<number[]> {
  const socket = await connectTo(port);
  const ping = Buffer.alloc(PING_SIZE, 0x70);
  const samples: number[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let round = 0;
      let pending = PING_SIZE;
      let sentAt = now();
      const send = (): void => {
        pending = PING_SIZE;
        sentAt = now();
        socket.write(ping);
      };
      socket.on('data', (chunk: Buffer) => {
        pending -= chunk.length;
        if (pending > 0) return;
        if (pending < 0) {
          reject(new Error(`the echo sent ${-pending} bytes more than the ${PING_SIZE}-byte ping`));
          return;
        }
        if (round >= warmup) samples.push(Number(now() - sentAt));
        round += 1;
        if (round === warmup + count) resolve();
        else send();
      });
      socket.once('error', reject);
      socket.once('close', () => reject(new Error(`the echo connection closed after ${round} round trips`)));
      send();
    });
  } finally {
    await closeSocket(socket);
  }
  return samples;
}

/**
 * Opens `count` connections one after another to a server that speaks first; each time is from
 * the connection being accepted to its first byte arriving, in nanoseconds.
 */
export async function timeNewConnections(port: number, count: number, warmup: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < warmup + count; i++) {
    const elapsed = await new Promise<number>((resolve, reject) => {
      let acceptedAt = 0n;
      const socket = connect({ host: '127.0.0.1', port, noDelay: true }, () => {
        acceptedAt = now();
      });
      socket.once('data', () => {
        resolve(Number(now() - acceptedAt));
        socket.destroy();
      });
      socket.once('error', reject);
      socket.once('close', () => reject(new Error(`connection ${i + 1} closed before its first byte`)));
    });
    if (i >= warmup) samples.push(elapsed);
  }
  return samples;
}

/** Connections held open at once, each proven open by a one-byte echo. */
export interface IdleConnections {
  count: number;
  close(): Promise<void>;
}

/** Opens `count` echo connections, `batch` at a time, and checks each with one echoed byte. */
export async function openIdleConnections(port: number, count: number, batch = 50): Promise<IdleConnections> {
  const sockets: Socket[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(sockets.map((socket) => closeSocket(socket)));
  };
  const openOne = async (): Promise<void> => {
    const socket = await connectTo(port);
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('data', () => resolve());
      socket.once('error', reject);
      socket.once('close', () => reject(new Error(`idle connection ${sockets.length} closed before its echo`)));
      socket.write(Buffer.of(0x69));
    });
    socket.removeAllListeners('data');
    socket.removeAllListeners('close');
    socket.on('error', () => undefined);
  };
  try {
    for (let opened = 0; opened < count; opened += batch) {
      await Promise.all(Array.from({ length: Math.min(batch, count - opened) }, openOne));
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { count: sockets.length, close };
}
