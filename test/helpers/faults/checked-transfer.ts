import { connect, type Socket } from 'node:net';
import { PatternSource, PatternVerifier } from './pattern.js';
import { DestinationBehaviour, DONE_BYTE, encodeTransferHeader, type TransferHeader } from './transfer-header.js';

/*
 * One checked connection through the tunnel, from the local client's side: sends the header and
 * the upload pattern (with backpressure), checks the download byte by byte, and ends once the
 * destination's DONE byte says both directions are complete. It can also stop reading after a
 * number of bytes (to keep data in flight) and reset the connection (a client that aborts).
 */

export interface TransferOptions {
  connectionId: number;
  port: number;
  upload: number;
  download: number;
  behaviour?: DestinationBehaviour;
  /** For closeMidStream: download bytes sent before the destination ends the connection. */
  param?: number;
  /** Stop reading once this many download bytes arrived, until release(). */
  holdAfter?: number;
  /** Reset the connection (RST) once this many download bytes arrived. */
  resetAfter?: number;
  /** Give up when no byte moved either way for this long. */
  stallTimeoutMs: number;
}

export interface TransferOutcome {
  connectionId: number;
  completed: boolean;
  uploadSent: number;
  downloadReceived: number;
  downloadCorrupted: number;
  /** Why it did not complete. */
  error?: string;
}

const WRITE_CHUNK = 64 * 1024;

export class CheckedTransfer {
  readonly connectionId: number;
  readonly outcome: Promise<TransferOutcome>;
  private readonly options: TransferOptions;
  private readonly verifier: PatternVerifier;
  private socket: Socket | undefined;
  private uploadSent = 0;
  private held = false;
  private done = false;
  private lastProgress = Date.now();

  constructor(options: TransferOptions) {
    this.options = options;
    this.connectionId = options.connectionId;
    this.verifier = new PatternVerifier(options.connectionId, 'down', options.download);
    this.outcome = this.run();
  }

  /** Download bytes received so far. */
  get received(): number {
    return this.verifier.received;
  }

  get sent(): number {
    return this.uploadSent;
  }

  /** Stopped reading at holdAfter and not released yet. */
  get holding(): boolean {
    return this.held;
  }

  get finished(): boolean {
    return this.done;
  }

  /** Aborts the connection now with a TCP reset, as a client that crashes. */
  reset(): void {
    this.socket?.resetAndDestroy();
  }

  /** Reads again after holdAfter. */
  release(): void {
    this.held = false;
    this.socket?.resume();
  }

  private async run(): Promise<TransferOutcome> {
    const { options } = this;
    let error: string | undefined;
    let doneSeen = false;
    let extraSeen = false;
    try {
      const socket = await openSocket(options.port);
      this.socket = socket;
      await new Promise<void>((resolve, reject) => {
        const watchdog = setInterval(() => {
          if (!this.held && Date.now() - this.lastProgress > options.stallTimeoutMs) {
            socket.destroy(new Error(`no progress for ${options.stallTimeoutMs} ms`));
          }
        }, Math.min(1000, options.stallTimeoutMs));
        socket.on('data', (chunk: Buffer) => {
          this.lastProgress = Date.now();
          const extra = this.verifier.push(chunk);
          if (extra.length > 0) {
            // DONE is the one byte after the download; anything else past it is corrupt.
            if (!doneSeen && !extraSeen && extra.length === 1 && extra[0] === DONE_BYTE) {
              doneSeen = true;
              socket.end();
            } else {
              this.verifier.addUnexpected(extra.length);
            }
            extraSeen = true;
          }
          if (options.resetAfter !== undefined && this.verifier.received >= options.resetAfter && !doneSeen) {
            socket.resetAndDestroy();
            return;
          }
          if (options.holdAfter !== undefined && !this.held && this.verifier.received >= options.holdAfter && !this.verifier.complete) {
            this.held = true;
            options.holdAfter = undefined;
            socket.pause();
          }
        });
        socket.on('error', (e: Error) => {
          error ??= e.message;
        });
        socket.on('close', () => {
          clearInterval(watchdog);
          if (doneSeen) resolve();
          else reject(new Error(error ?? `closed after ${this.verifier.received} of ${options.download} download bytes`));
        });
        socket.write(encodeTransferHeader(this.header()));
        this.writeUpload(socket);
      });
    } catch (e) {
      error ??= (e as Error).message;
    }
    const outcome: TransferOutcome = {
      connectionId: options.connectionId,
      // DONE follows the whole download and the whole upload's arrival: what comes after it is teardown.
      completed: doneSeen,
      uploadSent: this.uploadSent,
      downloadReceived: this.verifier.received,
      downloadCorrupted: this.verifier.corrupted,
    };
    if (!outcome.completed) outcome.error = error ?? 'incomplete';
    this.done = true;
    return outcome;
  }

  private header(): TransferHeader {
    const { options } = this;
    return {
      connectionId: options.connectionId,
      upload: options.upload,
      download: options.download,
      behaviour: options.behaviour ?? DestinationBehaviour.normal,
      param: options.param ?? 0,
    };
  }

  private writeUpload(socket: Socket): void {
    const source = new PatternSource(this.options.connectionId, 'up', this.options.upload);
    const writeMore = (): void => {
      while (source.remaining > 0 && !socket.destroyed) {
        const slice = source.next(WRITE_CHUNK);
        this.uploadSent += slice.length;
        this.lastProgress = Date.now();
        if (!socket.write(slice)) {
          socket.once('drain', writeMore);
          return;
        }
      }
    };
    writeMore();
  }
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
