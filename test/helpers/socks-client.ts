/*
 * A minimal SOCKS5 client (RFC 1928, no authentication, CONNECT by name) for tests that drive the
 * proxy by hand, and a socket-like stream through it for clients that take one (pg's `stream`).
 */
import { connect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';

export interface SocksConnection {
  /** The proxy's REP code: 0 succeeded, 2 not allowed, 5 refused, … */
  reply: number;
  /** Open (when reply is 0) with the tunnel's bytes; paused, no 'data' listener left behind. */
  socket: Socket;
}

/** Greets the proxy, asks for `host:port` and reads the reply; rejects if the proxy closes first. */
export async function socksConnect(proxyPort: number, host: string, port: number): Promise<SocksConnection> {
  const socket = connect(proxyPort, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = Buffer.alloc(0);
  const read = (length: number): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (received.length < length) return;
        socket.off('data', onData);
        socket.off('close', onClose);
        socket.pause();
        const head = received.subarray(0, length);
        received = received.subarray(length);
        resolve(head);
      };
      const onData = (chunk: Buffer): void => {
        received = Buffer.concat([received, chunk]);
        check();
      };
      const onClose = (): void => reject(new Error('the proxy closed the connection'));
      socket.on('data', onData);
      socket.once('close', onClose);
      socket.resume();
      check();
    });
  socket.write(Buffer.from([5, 1, 0]));
  const choice = await read(2);
  if (choice[1] !== 0) throw new Error(`the proxy chose method ${choice[1]}`);
  const name = Buffer.from(host);
  const portBytes = Buffer.alloc(2);
  portBytes.writeUInt16BE(port);
  socket.write(Buffer.concat([Buffer.from([5, 1, 0, 3, name.length]), name, portBytes]));
  const reply = await read(10);
  if (received.length > 0) socket.unshift(received);
  return { reply: reply[1]!, socket };
}

/**
 * What pg's `stream` option expects of a socket (connect(port, host), then 'connect'), with the
 * connection made through the proxy: pg never knows.
 */
export class SocksStream extends Duplex {
  private socket: Socket | undefined;

  constructor(private readonly proxyPort: number) {
    super();
  }

  connect(port: number, host: string): this {
    socksConnect(this.proxyPort, host, port).then(
      ({ reply, socket }) => {
        if (reply !== 0) {
          socket.destroy();
          this.destroy(new Error(`the proxy refused ${host}:${port} (SOCKS reply ${reply})`));
          return;
        }
        this.socket = socket;
        socket.on('data', (chunk: Buffer) => {
          if (!this.push(chunk)) socket.pause();
        });
        socket.on('end', () => this.push(null));
        socket.on('error', (error) => this.destroy(error));
        socket.on('close', () => this.destroy());
        socket.resume();
        this.emit('connect');
      },
      (error: Error) => this.destroy(error),
    );
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  override _read(): void {
    this.socket?.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.socket === undefined) callback(new Error('not connected'));
    else this.socket.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket?.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket?.destroy();
    callback(error);
  }
}
