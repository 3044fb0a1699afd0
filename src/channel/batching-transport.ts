import type { Socket } from 'node:net';
import type { FrameTransport } from './frame-transport.js';

/**
 * Frames sent during one turn of the event loop leave in one socket write: the socket is corked
 * at the first frame and uncorked on the next tick. Each frame stays its own WebSocket message.
 * In the benchmark's profiles a write per 1 KiB message, and one per acknowledgement, was the
 * largest single cost of both the client and the emulated agent. Without a socket, `transport`
 * is returned as it is.
 */
export function batchingTransport(transport: FrameTransport, socket: Socket | undefined): FrameTransport {
  if (socket === undefined) return transport;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  return {
    send(frame, onWritten) {
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      transport.send(frame, onWritten);
    },
  };
}
