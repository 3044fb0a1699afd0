import type { SessionApi } from '../aws/session-api.js';
import { createSsmSessionApi } from '../aws/ssm-session-api.js';
import { ErrorCode, SsmTunnelError } from '../errors.js';
import { silentLogger, type Logger } from '../logging.js';
import { endReasonCode, SsmSession } from '../session/ssm-session.js';
import { LinkedDuplex } from './linked-duplex.js';
import { resolveStreamOptions, type StreamOptions } from './options.js';

/**
 * How long a stream whose writable side ended waits for the agent to acknowledge what was written
 * before it terminates the session: a full window (1024 messages) takes far less on any link that
 * carries a session at all; past this the link is dead and the bytes cannot arrive anyway.
 */
const FLUSH_WAIT_MS = 10_000;

/**
 * One connection to a destination through one SSM session, as a Duplex: what is written goes to the
 * destination, what it sends is read. Neither forwarding mode can half-close (docs/forwarding.md), so
 * the stream does not allow half-open either: ending the writable side ends the session once what
 * was written is acknowledged, and the destination closing ends the readable side, then the stream.
 * A dropped WebSocket is resumed underneath without losing or repeating a byte.
 *
 * Whoever opened it owns its end: the session is terminated when the stream ends, is destroyed, or
 * close() is called; 'close' is emitted once it is.
 */
export class SsmStream extends LinkedDuplex {
  readonly sessionId: string;
  /** The node the session runs on (what a name or tag target resolved to). */
  readonly targetId: string;
  readonly mode: 'mux' | 'basic';
  private readonly session: SsmSession;
  private readonly inner: LinkedDuplex;
  private readonly release: () => void;
  private readonly log: Logger;
  private sessionLost = false;
  private ending: Promise<void> | undefined;

  /** Use openStream(). */
  constructor(session: SsmSession, release: () => void, log: Logger) {
    super({ allowHalfOpen: false });
    this.session = session;
    this.sessionId = session.sessionId;
    this.targetId = session.targetId;
    this.mode = session.mode.mux ? 'mux' : 'basic';
    this.release = release;
    this.log = log;
    // The forwarder writes the destination's bytes into `inner`. With no room in its writable buffer
    // a write is either handed across at once or reported as backpressure, so nothing is left
    // behind in it when the forwarder destroys it as the session ends: the last bytes are read.
    this.inner = new LinkedDuplex({ writableHighWaterMark: 1 });
    LinkedDuplex.link(this, this.inner);
    session.on('lost', (reason, completed) => this.onSessionLost(reason, completed));
    session.handle(this.inner, 1);
  }

  /** Terminates the session and destroys the stream; resolves once the session is ended. */
  async close(): Promise<void> {
    this.destroy();
    await this.endSession();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    super._destroy(error, () => {
      void this.endSession().then(() => callback(error));
    });
  }

  /** Ends the session once: after what was written is acknowledged when the writable side finished cleanly. */
  private endSession(): Promise<void> {
    this.ending ??= (async () => {
      if (!this.sessionLost) {
        if (this.writableFinished && !this.errored) {
          const acknowledged = await this.session.flush(FLUSH_WAIT_MS);
          // The agent may have completed the session meanwhile (the destination closed first): then
          // what it did not acknowledge had nowhere to go, and there is nothing to warn about.
          if (!acknowledged && !this.sessionLost) this.log.warn({ waitedMs: FLUSH_WAIT_MS }, 'the agent did not acknowledge everything written before the stream ended');
        }
        await this.session.terminate();
      }
      this.inner.destroy();
      this.release();
    })();
    return this.ending;
  }

  private onSessionLost(reason: string, completed: boolean): void {
    this.sessionLost = true;
    if (!completed) {
      // The agent failed, the WebSocket could not be resumed, or the forwarding broke: bytes may be missing.
      this.destroy(new SsmTunnelError(endReasonCode(reason), `the session was lost: ${reason}`));
      return;
    }
    // The agent completing the session is how an SSH-style session reports the destination
    // closing: what arrived before it is still read, then the stream ends.
    this.log.info({ reason }, 'session ended');
    this.endReadable();
    if (!this.writableEnded) this.end();
  }
}

/**
 * Starts a session to the destination and returns it as a Duplex (an `ssh2` client's `sock`, say).
 * Rejects, with nothing left open, when the session cannot be started.
 */
export async function openStream(options: StreamOptions): Promise<SsmStream> {
  const sessionOptions = resolveStreamOptions(options);
  const log = options.logger ?? silentLogger;
  const ownedApi = options.sessionApi === undefined ? createSsmSessionApi({ ...options, logger: log }) : undefined;
  const api: SessionApi = options.sessionApi ?? ownedApi!;
  const release = (): void => ownedApi?.destroy();
  const signal = options.signal ?? new AbortController().signal;
  let session: SsmSession;
  try {
    // One attempt (the SDK retries throttling and server errors itself): ssh, the usual caller,
    // reports a failure at once rather than hanging, and the user runs it again.
    session = await SsmSession.start(api, sessionOptions, log, signal);
  } catch (error) {
    release();
    throw error;
  }
  const stream = new SsmStream(session, release, log.child({ sessionId: session.sessionId }));
  if (options.signal !== undefined) {
    const onAbort = (): void => {
      stream.destroy(new SsmTunnelError(ErrorCode.ABORTED, 'the stream was closed through its AbortSignal', { cause: signal.reason }));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    stream.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  return stream;
}
