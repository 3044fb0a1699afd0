import type { WebSocket } from 'ws';

/**
 * Where a channel writes its frames: one frame per WebSocket message (docs/protocol.md §4.2).
 * `onWritten` fires once the frame has left our buffers, so the channel can bound what is queued.
 */
export interface FrameTransport {
  send(frame: Buffer, onWritten: (error?: Error) => void): void;
}

export function webSocketTransport(ws: WebSocket): FrameTransport {
  return {
    send(frame, onWritten) {
      if (ws.readyState !== ws.OPEN) {
        onWritten(new Error('WebSocket is not open'));
        return;
      }
      ws.send(frame, { binary: true }, onWritten);
    },
  };
}
